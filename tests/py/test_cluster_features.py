"""Redis Cluster features beyond the basics (test_cluster_basics.py), end to end: replica
migration, a master turning into a replica when CLUSTER SETSLOT takes its last slot,
sharded pub/sub clients unsubscribed when their slot leaves the shard, the slot rules for
scripts and functions, DEBUG DROP-CLUSTER-PACKET-FILTER, DEBUG CLUSTERLINK KILL and
CLUSTER LINKS / cluster-link-sendbuf-limit. Every node is REDUST_SERVER started from
cluster_helpers.node_config (cluster-node-timeout 1500, enable-debug-command yes, logs on
stdout kept in ``<dir>/stdout.log``). Every expected reply and log line was read from
Redis 7.0.15.

BEHAVIOURS VERIFIED AGAINST REDIS 7.0.15 THAT AN IMPLEMENTATION MUST MATCH

Replica migration (cluster-migration-barrier 1, cluster-allow-replica-migration yes by
  default): a master whose last working replica is flagged FAIL is "orphaned"; after it
  has been orphaned for 5 s, the replica with the smallest node id among the replicas of
  the master(s) with the most working replicas moves to it (CLUSTER REPLICATE-like: its
  INFO replication master_port is the orphan's, the link comes up) and logs "Migrating to
  orphaned master <id>". Only one replica moves. With cluster-allow-replica-migration no,
  or when the donor would be left with no more than cluster-migration-barrier working
  replicas (barrier 2, donor with 2), nothing moves.
CLUSTER SETSLOT <slot> NODE <other> on a master that owned that slot and no other: the
  reply is +OK and the node is already a replica of <other> (CLUSTER NODES myself,slave
  <other>; ROLE slave) and logs "Configuration change detected. Reconfiguring myself as a
  replica of <other>". With cluster-allow-replica-migration no it stays a master without
  slots.
Sharded pub/sub: when a slot stops being served by a node's shard (SETSLOT NODE to another
  master, DELSLOTS, or on a replica when gossip says its master lost the slot) every
  client subscribed (SSUBSCRIBE) to a channel of that slot gets an unsolicited
  ["sunsubscribe", <channel>, <its remaining shard channel count>] (RESP3: a push), one
  per channel; channels of other slots stay subscribed.
Scripts in cluster mode: EVAL without a shebang (compatibility mode) may touch keys of
  several local slots, declared or not. With "#!lua" (and in functions) the first key a
  command touches fixes the slot (the declared keys fix it first): a key of another slot
  -> "ERR Script attempted to access keys that do not hash to the same slot script:
  <sha>, on @user_script:<line>." unless flags=allow-cross-slot-keys (functions:
  flags={'allow-cross-slot-keys'}). A key of a slot of another node -> "ERR Script
  attempted to access a non local key in a cluster node script: ...". flags=no-cluster ->
  "ERR Can not run script on cluster, 'no-cluster' flag is set." (EVAL and FCALL).
DEBUG DROP-CLUSTER-PACKET-FILTER <type>: +OK; a non-integer -> "ERR value is not an
  integer or out of range". Matching packets are counted (cluster_stats_messages_
  <type>_received still grows) then dropped ("Dropping packet that matches debug drop
  filter" in the log). Dropping PONGs (type 1): the node's pings stay unanswered (CLUSTER
  NODES ping_sent stays set and older than the node timeout, pong_recv frozen) but its
  peers are not flagged fail? (their own PINGs still reach it, so it keeps hearing from
  them) and the cluster stays ok. -1 lets everything through again; the pending PING is
  not sent again (and the link not remade while the peer keeps talking to us), but a new
  link (DEBUG CLUSTERLINK KILL to <id>) sends one whose PONG is processed (ping_sent back
  to 0, pong_recv fresh).
DEBUG CLUSTERLINK KILL <to|from|all> <id>: +OK; "to" closes our link to the node (the cron
  opens a new one: new create-time in CLUSTER LINKS), "from" the node's link to us (the
  peer reconnects), "all" both; unknown node -> "ERR Unknown node <id>"; another
  direction -> "ERR Unknown direction <dir>" (7.0.15 then also sends a stray +OK, which
  the test does not look at).
CLUSTER LINKS: one entry per link with, in order, direction node create-time events
  send-buffer-allocated send-buffer-used (RESP3: maps, same order). CLUSTER INFO ends with
  total_cluster_links_buffer_limit_exceeded:<n>. With cluster-link-sendbuf-limit 1 and a
  peer stopped (SIGSTOP) while large PUBLISH messages pile up on the link to it, the link
  is freed ("Freeing cluster link(to node <id>, used memory: <n>) due to exceeding send
  buffer memory limit.") and the counter grows.
"""

import hashlib
import os
import signal
import time

import pytest

from cluster_helpers import NODE_TIMEOUT, Cluster, key_for_slot, keyslot, split_slots
from helpers import HOST, SERVER_BIN, Client, RespError, wait_until

MIGRATING_LOG = "Migrating to orphaned master %s"
RECONF_LOG = "Configuration change detected. Reconfiguring myself as a replica of %s"
SAME_SLOT = "ERR Script attempted to access keys that do not hash to the same slot"
NON_LOCAL = "ERR Script attempted to access a non local key in a cluster node"
NO_CLUSTER = "ERR Can not run script on cluster, 'no-cluster' flag is set."
NOT_INT = "ERR value is not an integer or out of range"
ZERO_ID = "0" * 40
LINK_FIELDS = [b"direction", b"node", b"create-time", b"events", b"send-buffer-allocated",
               b"send-buffer-used"]


# ---------------------------------------------------------------------------
# fixtures / helpers
# ---------------------------------------------------------------------------




def build(cl, ranges, replica_of=()):
    """Masters owning ``ranges`` (one list of (first, last) per master), each given config
    epoch i + 1 before the MEETs as redis-cli does (so epochs are distinct from the
    start), then one replica per entry of ``replica_of`` (a master index). Returns
    (masters, replicas) once the cluster is ok and consistent everywhere."""
    ms = cl.start_nodes(len(ranges))
    rs = cl.start_nodes(len(replica_of))
    for i, (m, rngs) in enumerate(zip(ms, ranges)):
        for a, b in rngs:
            assert m.call("CLUSTER", "ADDSLOTSRANGE", a, b) == "OK"
        assert m.call("CLUSTER", "SET-CONFIG-EPOCH", i + 1) == "OK"
    allnodes = ms + rs
    for n in allnodes[1:]:
        assert ms[0].call("CLUSTER", "MEET", HOST, n.port) == "OK"
    ids = {n.myid() for n in allnodes}
    wait_until(lambda: all({x["id"] for x in n.nodes() if "handshake" not in x["flags"]} == ids
                           for n in allnodes), 20, 0.05, msg="every node knows every other node")
    for r, i in zip(rs, replica_of):
        assert r.call("CLUSTER", "REPLICATE", ms[i].myid()) == "OK"
    cl.wait_ok(allnodes)
    return ms, rs


def three_masters():
    return [[r] for r in split_slots(3)]


def read_push(c, timeout=10.0):
    c.settimeout(timeout)
    try:
        return c.read_reply()
    finally:
        c.settimeout(10)


def no_more_data(c, wait=0.3):
    """True if nothing (no further push) arrives on ``c`` within ``wait`` seconds."""
    c.settimeout(wait)
    try:
        c.read_reply()
        return False
    except OSError:  # socket.timeout
        return True
    finally:
        c.settimeout(10)


def master_of(viewer, node):
    """``node``'s master id as ``viewer`` sees it (``-`` for a master)."""
    mid = node.myid()
    return [x for x in viewer.nodes() if x["id"] == mid][0]["master"]


def wait_flagged_fail(nodes, dead_id, timeout=20):
    def flagged():
        for n in nodes:
            x = [y for y in n.nodes() if y["id"] == dead_id]
            if not x or "fail" not in x[0]["flags"]:
                return False
        return True

    wait_until(flagged, timeout, 0.05, msg="%s flagged fail everywhere" % dead_id)


def links(node):
    """CLUSTER LINKS -> {(direction, node id): create-time}."""
    out = {}
    for link in node.call("CLUSTER", "LINKS"):
        out[(link[1].decode(), link[3].decode())] = link[5]
    return out


def info_int(node, field):
    return int(node.cluster_info().get(field, "0"))


# ---------------------------------------------------------------------------
# 1. replica migration
# ---------------------------------------------------------------------------


def orphan_setup(make_cluster, extra=""):
    """3 masters A, B, C; A has 2 replicas, B and C one each. Returns
    (cl, A, B, A's two replicas, B's replica)."""
    cl = make_cluster(extra=extra)
    ms, rs = build(cl, three_masters(), replica_of=[0, 1, 2, 0])
    a, b, _c = ms
    return cl, a, b, [rs[0], rs[3]], rs[1]


def test_replica_migration_to_an_orphaned_master(make_cluster):
    cl, a, b, a_reps, b_rep = orphan_setup(make_cluster)
    # the replica with the smallest node id of the master with the most replicas moves
    mover = min(a_reps, key=lambda n: n.myid())
    stayer = [n for n in a_reps if n is not mover][0]
    dead_id = b_rep.myid()
    b_rep.kill()  # SIGKILL: B is orphaned once its only replica is flagged fail
    survivors = cl.alive()
    wait_flagged_fail(survivors, dead_id)
    wait_until(lambda: mover.me()["master"] == b.myid(), 30, 0.05,
               msg="the replica with the smallest id migrates to the orphaned master\n%s" % cl.diag())
    view = cl.wait_ok(survivors, timeout=20)
    assert view[mover.myid()][1:3] == ("slave", b.myid())
    assert view[stayer.myid()][1:3] == ("slave", a.myid())
    assert view[dead_id][1:3] == ("slave", b.myid())
    info = mover.info("replication")
    assert info["role"] == "slave"
    assert info["master_port"] == str(b.port)
    assert info["master_link_status"] == "up"
    # B lists its new replica, A keeps one
    assert int(b.info("replication")["connected_slaves"]) == 1
    assert int(a.info("replication")["connected_slaves"]) == 1
    assert MIGRATING_LOG % b.myid() in mover.log()
    assert "Migrating to orphaned master" not in stayer.log()


@pytest.mark.parametrize("extra", ["cluster-allow-replica-migration no\n", "cluster-migration-barrier 2\n"],
                         ids=["allow-replica-migration-no", "migration-barrier-2"])
def test_no_replica_migration(make_cluster, extra):
    cl, a, b, a_reps, b_rep = orphan_setup(make_cluster, extra)
    dead_id = b_rep.myid()
    b_rep.kill()
    survivors = cl.alive()
    wait_flagged_fail(survivors, dead_id)
    # the migration delay is 5 s: watch for 8 s that both of A's replicas stay with A
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        for viewer in survivors:
            for r in a_reps:
                assert master_of(viewer, r) == a.myid(), cl.diag()
        time.sleep(0.2)
    for r in a_reps:
        info = r.info("replication")
        assert (info["role"], info["master_port"]) == ("slave", str(a.port))
        assert "Migrating to orphaned master" not in r.log()
    assert int(b.info("replication")["connected_slaves"]) == 0


# ---------------------------------------------------------------------------
# 2. a master emptied by CLUSTER SETSLOT ... NODE becomes a replica
# ---------------------------------------------------------------------------


def empty_a_master(make_cluster, extra=""):
    """Masters A (0-8191), B (8192-16382), C (16383 only); C's key in slot 16383 is
    MIGRATEd to A and the slot handed over: IMPORTING on A, MIGRATING on C, SETSLOT NODE A
    on C, then on A. Returns (cl, A, B, C, the reply of C's SETSLOT NODE, C's CLUSTER
    NODES myself line right after it)."""
    cl = make_cluster(extra=extra)
    (a, b, c), _ = build(cl, [[(0, 8191)], [(8192, 16382)], [(16383, 16383)]])
    slot = 16383
    key = key_for_slot(slot, "moved")
    assert c.call("SET", key, "v") == "OK"
    assert a.call("CLUSTER", "SETSLOT", slot, "IMPORTING", c.myid()) == "OK"
    assert c.call("CLUSTER", "SETSLOT", slot, "MIGRATING", a.myid()) == "OK"
    assert c.call("MIGRATE", HOST, a.port, key, 0, 5000) == "OK"
    cc = c.client()
    reply = cc.call("CLUSTER", "SETSLOT", slot, "NODE", a.myid())
    me = [x for x in c.nodes() if "myself" in x["flags"]][0]
    assert a.call("CLUSTER", "SETSLOT", slot, "NODE", a.myid()) == "OK"
    return cl, a, b, c, reply, me


def test_master_losing_its_last_slot_becomes_a_replica(make_cluster):
    cl, a, b, c, reply, me = empty_a_master(make_cluster)
    assert reply == "OK"
    # already a replica of the new owner when SETSLOT returns
    assert me["flags"] == ["myself", "slave"] and me["master"] == a.myid() and me["slots"] == []
    assert RECONF_LOG % a.myid() in c.log()
    view = cl.wait_ok(timeout=20)
    assert view[c.myid()][1:] == ("slave", a.myid(), ())
    assert view[a.myid()][1:] == ("master", "-", ((0, 8191), (16383, 16383)))
    role = c.call("ROLE")
    assert role[0] == b"slave" and role[2] == a.port
    info = c.info("replication")
    assert (info["master_port"], info["master_link_status"]) == (str(a.port), "up")
    # the moved key is served by A and replicated to C
    key = key_for_slot(16383, "moved")
    assert a.call("GET", key) == b"v"
    rc = c.client()
    assert rc.call("READONLY") == "OK"
    wait_until(lambda: rc.call("GET", key) == b"v", 10, 0.05)


def test_master_losing_its_last_slot_stays_master_without_replica_migration(make_cluster):
    cl, a, b, c, reply, me = empty_a_master(make_cluster, "cluster-allow-replica-migration no\n")
    assert reply == "OK"
    assert me["flags"] == ["myself", "master"] and me["master"] == "-" and me["slots"] == []
    view = cl.wait_ok(timeout=20)
    assert view[c.myid()][1:] == ("master", "-", ())
    assert view[a.myid()][1:] == ("master", "-", ((0, 8191), (16383, 16383)))
    assert c.role() == "master"
    assert c.call("ROLE")[0] == b"master"
    assert "Reconfiguring myself as a replica" not in c.log()


# ---------------------------------------------------------------------------
# 3. sharded pub/sub: subscribers of a slot that leaves the shard
# ---------------------------------------------------------------------------


def test_sharded_subscribers_unsubscribed_when_slot_moves(make_cluster):
    cl = make_cluster()
    (m0, m1), (r0,) = build(cl, [[(0, 8191)], [(8192, 16383)]], replica_of=[0])
    slot, slot2 = 100, 200
    ch, ch2 = key_for_slot(slot, "sch"), key_for_slot(slot2, "sch")
    chb = "{%s}b" % ch
    # RESP2 on the master: two channels in the slot that moves, one in another slot
    s2 = m0.client()
    assert s2.call("SSUBSCRIBE", ch, chb) == [b"ssubscribe", ch.encode(), 1]
    assert s2.read_reply() == [b"ssubscribe", chb.encode(), 2]
    assert s2.call("SSUBSCRIBE", ch2) == [b"ssubscribe", ch2.encode(), 3]
    # RESP3 on the master
    s3 = m0.client()
    s3.call("HELLO", "3")
    got = s3.call("SSUBSCRIBE", ch)
    assert type(got).__name__ == "Push" and got == [b"ssubscribe", ch.encode(), 1]
    # on the master's replica
    sr = r0.client()
    assert sr.call("SSUBSCRIBE", ch) == [b"ssubscribe", ch.encode(), 1]

    # move the slot to m1 (the source gives it away first, then the target takes it)
    assert m1.call("CLUSTER", "SETSLOT", slot, "IMPORTING", m0.myid()) == "OK"
    assert m0.call("CLUSTER", "SETSLOT", slot, "MIGRATING", m1.myid()) == "OK"
    assert m0.call("CLUSTER", "SETSLOT", slot, "NODE", m1.myid()) == "OK"
    assert m1.call("CLUSTER", "SETSLOT", slot, "NODE", m1.myid()) == "OK"

    pushes = [read_push(s2), read_push(s2)]
    assert [p[0] for p in pushes] == [b"sunsubscribe", b"sunsubscribe"]
    assert sorted(p[1] for p in pushes) == sorted([ch.encode(), chb.encode()])
    assert [p[2] for p in pushes] == [2, 1]
    assert no_more_data(s2)
    got = read_push(s3)
    assert type(got).__name__ == "Push" and got == [b"sunsubscribe", ch.encode(), 0]
    # the replica hears from the new owner (higher config epoch) that its master lost it
    assert read_push(sr) == [b"sunsubscribe", ch.encode(), 0]
    cl.wait_ok(timeout=20)
    p = m0.client()
    assert p.call("PUBSUB", "SHARDNUMSUB", ch, chb, ch2) == [ch.encode(), 0, chb.encode(), 0, ch2.encode(), 1]
    assert p.err("SSUBSCRIBE", ch) == "MOVED %d %s:%d" % (slot, HOST, m1.port)
    # the channel of the other slot is still subscribed
    assert p.call("SPUBLISH", ch2, "still") == 1
    assert read_push(s2) == [b"smessage", ch2.encode(), b"still"]

    # DELSLOTS on the master: its last channel goes too
    assert m0.call("CLUSTER", "DELSLOTS", slot2) == "OK"
    assert read_push(s2) == [b"sunsubscribe", ch2.encode(), 0]
    assert no_more_data(s2)


def test_setslot_node_to_the_same_owner_still_unsubscribes(make_cluster):
    """Redis's SETSLOT NODE deletes the slot and adds it again: even naming the node that
    already owns it ends the slot's shard subscriptions on that shard."""
    cl = make_cluster()
    (m0, m1), (r0,) = build(cl, [[(0, 8191)], [(8192, 16383)]], replica_of=[0])
    slot = 300
    ch = key_for_slot(slot, "same")
    s = m0.client()
    assert s.call("SSUBSCRIBE", ch) == [b"ssubscribe", ch.encode(), 1]
    assert m0.call("CLUSTER", "SETSLOT", slot, "NODE", m0.myid()) == "OK"
    assert read_push(s) == [b"sunsubscribe", ch.encode(), 0]
    assert no_more_data(s)
    # On a node of another shard nothing is dropped.
    o = m1.client()
    ch1 = key_for_slot(9000, "same")
    assert o.call("SSUBSCRIBE", ch1) == [b"ssubscribe", ch1.encode(), 1]
    assert m1.call("CLUSTER", "SETSLOT", slot, "NODE", m0.myid()) == "OK"
    assert no_more_data(o)


# ---------------------------------------------------------------------------
# 4. scripts and functions in cluster mode
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def masters3():
    """3 masters (no replicas); tests only add keys and functions on the first."""
    if not os.path.exists(SERVER_BIN):
        pytest.fail("server binary %s does not exist (set REDUST_SERVER)" % SERVER_BIN)
    cl = Cluster()
    try:
        ms, _ = build(cl, three_masters())
        yield ms
    finally:
        cl.cleanup()


SET_TWO = "redis.call('SET', ARGV[1], '1')\nredis.call('SET', ARGV[2], '2')\nreturn 'done'\n"
SET_ARG_AFTER_KEY = "redis.call('SET', KEYS[1], '1')\nredis.call('SET', ARGV[1], '2')\nreturn 'done'\n"


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


def script_error(c, *args):
    with pytest.raises(RespError) as e:
        c.call(*args)
    return e.value.msg


def test_eval_cross_slot_rules(masters3):
    m0, m1, _ = masters3
    c = m0.client()
    k1, k2 = key_for_slot(10, "xs"), key_for_slot(20, "xs")  # two slots of m0
    assert keyslot(k1) != keyslot(k2)
    # compatibility mode (no shebang): any local keys
    assert c.call("EVAL", SET_TWO, 0, k1, k2) == b"done"
    assert c.call("EVAL", SET_ARG_AFTER_KEY, 1, k1, k2) == b"done"
    # "#!lua": the first key fixes the slot
    body = "#!lua\n" + SET_TWO
    msg = script_error(c, "EVAL", body, 0, k1, k2)
    assert msg == "%s script: %s, on @user_script:3." % (SAME_SLOT, sha1(body))
    assert c.call("GET", k1) == b"1"  # the first SET was done
    # same slot twice is fine
    assert c.call("EVAL", body, 0, k1, "{%s}x" % k1) == b"done"
    # the declared key fixes the slot
    body = "#!lua\n" + SET_ARG_AFTER_KEY
    msg = script_error(c, "EVAL", body, 1, k1, k2)
    assert msg == "%s script: %s, on @user_script:3." % (SAME_SLOT, sha1(body))
    # allow-cross-slot-keys
    assert c.call("EVAL", "#!lua flags=allow-cross-slot-keys\n" + SET_TWO, 0, k1, k2) == b"done"
    assert c.call("EVAL", "#!lua flags=allow-cross-slot-keys\n" + SET_ARG_AFTER_KEY, 1, k1, k2) == b"done"


def test_eval_non_local_key_and_no_cluster(masters3):
    m0, m1, _ = masters3
    c = m0.client()
    far = key_for_slot(6000, "far")  # a slot of m1
    local = key_for_slot(10, "near")
    for body, line in (("return redis.call('GET', ARGV[1])", 1), ("#!lua\nreturn redis.call('GET', ARGV[1])", 2),
                       ("#!lua flags=allow-cross-slot-keys\nreturn redis.call('GET', ARGV[1])", 2)):
        msg = script_error(c, "EVAL", body, 0, far)
        assert msg == "%s script: %s, on @user_script:%d." % (NON_LOCAL, sha1(body), line)
    # redis.pcall returns the error as a table: no "script: ..." suffix
    assert c.err("EVAL", "return redis.pcall('GET', ARGV[1])", 0, far) == NON_LOCAL
    # after a local key too, compatibility mode or not
    body = "redis.call('SET', ARGV[1], 'x')\nreturn redis.call('GET', ARGV[2])"
    msg = script_error(c, "EVAL", body, 0, local, far)
    assert msg == "%s script: %s, on @user_script:2." % (NON_LOCAL, sha1(body))
    assert c.call("GET", local) == b"x"
    assert c.err("EVAL", "#!lua flags=no-cluster\nreturn 1", 0) == NO_CLUSTER
    assert c.err("EVAL", "#!lua flags=no-writes,no-cluster\nreturn 1", 0) == NO_CLUSTER
    # a declared key of another node is redirected before the script runs
    assert c.err("EVAL", "return 1", 1, far) == "MOVED %d %s:%d" % (keyslot(far), HOST, m1.port)


LIB = """#!lua name=xslot
local function set_two(keys, args)
  redis.call('SET', args[1], '1')
  redis.call('SET', args[2], '2')
  return 'done'
end
redis.register_function('xs_default', set_two)
redis.register_function{function_name='xs_allowed', callback=set_two, flags={'allow-cross-slot-keys'}}
redis.register_function{function_name='xs_nocluster', callback=function() return 1 end, flags={'no-cluster'}}
redis.register_function('xs_get', function(keys, args) return redis.call('GET', args[1]) end)
"""


def test_fcall_cross_slot_rules(masters3):
    m0, _, _ = masters3
    c = m0.client()
    assert c.call("FUNCTION", "LOAD", "REPLACE", LIB) == b"xslot"
    k1, k2 = key_for_slot(30, "fx"), key_for_slot(40, "fx")
    msg = script_error(c, "FCALL", "xs_default", 0, k1, k2)
    assert msg == SAME_SLOT + " script: xs_default, on @user_function:4."
    assert c.call("FCALL", "xs_default", 0, k1, "{%s}y" % k1) == b"done"
    assert c.call("FCALL", "xs_allowed", 0, k1, k2) == b"done"
    assert c.call("FCALL", "xs_allowed", 1, k1, k1, k2) == b"done"
    # the declared key fixes the slot: the first SET (line 3) already fails
    msg = script_error(c, "FCALL", "xs_default", 1, k1, k2, k1)
    assert msg == SAME_SLOT + " script: xs_default, on @user_function:3."
    assert c.err("FCALL", "xs_nocluster", 0) == NO_CLUSTER
    msg = script_error(c, "FCALL", "xs_get", 0, key_for_slot(12000, "fx"))
    assert msg == NON_LOCAL + " script: xs_get, on @user_function:10."


# ---------------------------------------------------------------------------
# 5. DEBUG DROP-CLUSTER-PACKET-FILTER
# ---------------------------------------------------------------------------


def test_drop_cluster_packet_filter_pong(make_cluster):
    cl = make_cluster()
    ms, _ = build(cl, three_masters())
    x = ms[0]
    peers = {n.myid() for n in ms[1:]}
    assert x.err("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "pong") == NOT_INT
    pong0 = info_int(x, "cluster_stats_messages_pong_received")
    assert x.call("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "1") == "OK"
    t_on = time.time() * 1000

    def pings_unanswered():
        now = time.time() * 1000
        out = [p for p in x.nodes() if p["id"] in peers]
        return out if all(p["ping_sent"] > 0 and now - p["ping_sent"] > NODE_TIMEOUT for p in out) else None

    seen = wait_until(pings_unanswered, 15, 0.05,
                      msg="pings from the node left unanswered for more than the node timeout")
    for p in seen:
        assert p["pong_recv"] < p["ping_sent"] + 1000
        # the peers' own pings still arrive: no failure suspicion, the cluster stays ok
        assert "fail?" not in p["flags"] and "fail" not in p["flags"], cl.diag()
    assert x.cluster_info()["cluster_state"] == "ok"
    # PONGs are counted before the filter drops them
    wait_until(lambda: info_int(x, "cluster_stats_messages_pong_received") > pong0, 10, 0.05)
    assert "Dropping packet that matches debug drop filter" in x.log()

    assert x.call("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1") == "OK"
    t_off = time.time() * 1000
    assert t_off > t_on
    # No new PING is sent while one is pending, and the link is only remade when the
    # peer has been silent for half the node timeout (it is not: it keeps pinging us), so
    # the pending pings may stay unanswered for a long time; a new link sends a PING at
    # once, whose PONG is processed now.
    for pid in peers:
        assert x.call("DEBUG", "CLUSTERLINK", "KILL", "to", pid) == "OK"

    def pongs_again():
        # a PONG processed, and the ping left pending by the filter gone (0, or a new one)
        return all(p["pong_recv"] > t_off and (p["ping_sent"] == 0 or p["ping_sent"] >= t_off)
                   for p in x.nodes() if p["id"] in peers)

    wait_until(pongs_again, 10, 0.05, msg="pongs processed again after the filter is removed\n%s" % cl.diag())
    cl.wait_ok(timeout=20)


# ---------------------------------------------------------------------------
# 6. DEBUG CLUSTERLINK KILL
# ---------------------------------------------------------------------------


def test_debug_clusterlink_kill(make_cluster):
    cl = make_cluster()
    (a, b, c), _ = build(cl, three_masters())
    bid, cid = b.myid(), c.myid()
    before = links(a)
    assert set(before) == {(d, n) for d in ("to", "from") for n in (bid, cid)}

    assert a.call("DEBUG", "CLUSTERLINK", "KILL", "to", bid) == "OK"
    wait_until(lambda: links(a).get(("to", bid), 0) > before[("to", bid)], 10, 0.02,
               msg="a new outbound link to the node")
    now = links(a)
    assert now[("from", bid)] == before[("from", bid)]
    assert now[("to", cid)] == before[("to", cid)] and now[("from", cid)] == before[("from", cid)]

    before = now
    assert a.call("DEBUG", "CLUSTERLINK", "KILL", "from", bid) == "OK"
    wait_until(lambda: links(a).get(("from", bid), 0) > before[("from", bid)], 10, 0.02,
               msg="the peer reconnects its link to us")
    now = links(a)
    assert now[("to", bid)] == before[("to", bid)]

    before = now
    assert a.call("DEBUG", "CLUSTERLINK", "KILL", "all", cid) == "OK"
    wait_until(lambda: links(a).get(("to", cid), 0) > before[("to", cid)]
               and links(a).get(("from", cid), 0) > before[("from", cid)], 10, 0.02,
               msg="both links to the node made again")

    assert a.err("DEBUG", "CLUSTERLINK", "KILL", "to", ZERO_ID) == "ERR Unknown node %s" % ZERO_ID
    # an unknown direction: only the error is checked (7.0.15 sends a stray +OK after it)
    conn = Client(a.port)
    try:
        conn.send("DEBUG", "CLUSTERLINK", "KILL", "sideways", bid)
        assert conn.read_reply(raise_errors=False) == RespError("ERR Unknown direction sideways")
    finally:
        conn.close()
    cl.wait_ok(timeout=20)


# ---------------------------------------------------------------------------
# 7. CLUSTER LINKS and cluster-link-sendbuf-limit
# ---------------------------------------------------------------------------


def test_cluster_links_fields_and_sendbuf_limit(make_cluster):
    cl = make_cluster()
    (a, b, c), _ = build(cl, three_masters())
    peers = {b.myid(), c.myid()}
    entries = a.call("CLUSTER", "LINKS")
    assert len(entries) == 4
    for e in entries:
        assert e[0::2] == LINK_FIELDS
        assert e[1] in (b"to", b"from") and e[3].decode() in peers
        assert isinstance(e[5], int) and abs(e[5] / 1000 - time.time()) < 120
        assert e[7] in (b"r", b"rw")
        assert isinstance(e[9], int) and isinstance(e[11], int) and e[9] >= 0 and e[11] >= 0
    c3 = a.client()
    c3.call("HELLO", "3")
    for e in c3.call("CLUSTER", "LINKS"):
        assert isinstance(e, dict) and list(e) == LINK_FIELDS

    raw = a.call("CLUSTER", "INFO").decode()
    assert raw.endswith("\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n")

    assert a.call("CONFIG", "SET", "cluster-link-sendbuf-limit", "1") == "OK"
    assert a.call("CONFIG", "GET", "cluster-link-sendbuf-limit") == [b"cluster-link-sendbuf-limit", b"1"]
    pub = a.client()
    payload = "x" * (1 << 20)
    os.kill(b.proc.pid, signal.SIGSTOP)
    try:
        # PUBLISH goes to every node over the bus: the link to the stopped node fills up
        deadline = time.monotonic() + 30
        sent = 0
        while info_int(a, "total_cluster_links_buffer_limit_exceeded") == 0:
            assert time.monotonic() < deadline and sent < 300, "no link freed after %d MB" % sent
            pub.call("PUBLISH", "bulk", payload)
            sent += 1
        raw = a.call("CLUSTER", "INFO").decode()
        last = raw[:-2].split("\r\n")[-1]
        name, _, value = last.partition(":")
        assert name == "total_cluster_links_buffer_limit_exceeded" and int(value) > 0
        wait_until(lambda: ("Freeing cluster link(to node %s, used memory: " % b.myid()) in a.log(), 5, 0.05)
        assert "due to exceeding send buffer memory limit." in a.log()
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)
    assert a.call("CONFIG", "SET", "cluster-link-sendbuf-limit", "0") == "OK"
    cl.wait_ok(timeout=30)


def test_two_nodes_cannot_share_one_nodes_conf(make_cluster):
    """Redis 7.0 locks nodes.conf: a second node configured with the same file exits with
    its "already used by a different Redis Cluster node" message, and the first node's
    file is left as it was."""
    from helpers import ServerStartError

    cl = make_cluster()
    first = cl.add_node()
    before = first.read_nodes_conf()
    second = cl.add_node(extra="cluster-config-file %s\n" % first.nodes_conf, start=False)
    second.start_timeout = 5.0
    with pytest.raises(ServerStartError):
        second.start(retries=1)
    wait_until(lambda: "is already used by a different Redis Cluster node" in second.log(), 10, 0.05,
               msg="the refusal in the second node's log")
    assert first.read_nodes_conf() == before
    assert first.call("PING") == "PONG"
    assert first.call("CLUSTER", "MYID").decode() in before


def test_config_set_announced_port_and_hostname(make_cluster):
    """CONFIG SET cluster-announce-port / -bus-port / -hostname take effect at once on the
    node's own line, and the other nodes learn the new address from its messages."""
    cl = make_cluster()
    (m0, m1), _ = build(cl, [[(0, 8191)], [(8192, 16383)]])
    me = m0.myid()
    assert m0.call("CONFIG", "SET", "cluster-announce-hostname", "node-zero.example") == "OK"
    assert m0.call("CONFIG", "SET", "cluster-announce-port", "16999") == "OK"

    def mine(node):
        return [x for x in node.nodes() if x["id"] == me][0]

    wait_until(lambda: mine(m0)["port"] == 16999 and mine(m0).get("hostname") == "node-zero.example",
               10, 0.05, msg="the node's own line")
    wait_until(lambda: mine(m1)["port"] == 16999 and mine(m1).get("hostname") == "node-zero.example",
               20, 0.05, msg="the peer learns the new port and hostname")


def test_a_subscriber_moving_the_slot_itself_gets_the_push_first(make_cluster):
    """A RESP3 client subscribed to a shard channel that runs CLUSTER DELSLOTS on the
    channel's slot itself gets the sunsubscribe push, then the command's +OK."""
    cl = make_cluster()
    (m0, m1), _ = build(cl, [[(0, 8191)], [(8192, 16383)]])
    slot = 400
    ch = key_for_slot(slot, "self")
    c = m0.client()
    c.call("HELLO", "3")
    assert c.call("SSUBSCRIBE", ch) == [b"ssubscribe", ch.encode(), 1]
    got = c.call("CLUSTER", "DELSLOTS", slot)
    assert type(got).__name__ == "Push" and got == [b"sunsubscribe", ch.encode(), 0]
    assert c.read_reply() == "OK"
    assert c.call("PUBSUB", "SHARDNUMSUB", ch) == [ch.encode(), 0]
