"""Redis Cluster (cluster-enabled yes), end to end: CLUSTER subcommands, routing
(MOVED / ASK / CROSSSLOT / TRYAGAIN / CLUSTERDOWN), pub/sub across nodes, failover and
nodes.conf. Every node is REDUST_SERVER started as ``<binary> <dir>/redis.conf`` (see
cluster_helpers.node_config: port, bind 127.0.0.1, dir, cluster-enabled yes,
cluster-config-file <dir>/nodes.conf, cluster-node-timeout 1500 unless said otherwise);
the bus listens on port + 10000 (or cluster-port). Every expected reply was read from
Redis 7.0.15.

Layout:
1. cluster support disabled (a plain server)
2. one fresh node: replies and error texts that need no peers
3. a shared 3 masters + 3 replicas cluster (``redis-cli --cluster create
   --cluster-replicas 1``, module fixture): reply shapes and routing; tests only add keys
   of their own, never change the topology
4. fresh small clusters for tests that change slots (migration, CLUSTERDOWN, RESET,
   hostnames, cluster-port)
5. failover (``test_failover_*``; the long ones, 4-10 s each): kill -9, SIGSTOP,
   CLUSTER FAILOVER [FORCE|TAKEOVER], restarts and nodes.conf

BEHAVIOURS VERIFIED AGAINST REDIS 7.0.15 THAT AN IMPLEMENTATION MUST MATCH

Disabled: every CLUSTER subcommand (HELP too), READONLY, READWRITE, ASKING ->
  "ERR This instance has cluster support disabled"; arity and unknown subcommands are
  checked first; INFO cluster = "# Cluster\r\ncluster_enabled:0\r\n".
Fresh node: CLUSTER NODES "<id> :<port>@<port+10000> myself,master - 0 0 0 connected\n"
  (empty ip until a MEET); SLOTS [], LINKS [], SHARDS [[slots, [], nodes, [[id, <id>,
  port, <p>, ip, "", endpoint, "", role, master, replication-offset, 0, health, online]]]].
  CLUSTER INFO fields, in order: cluster_state, cluster_slots_assigned, _ok, _pfail,
  _fail, cluster_known_nodes, cluster_size, cluster_current_epoch, cluster_my_epoch, then
  cluster_stats_messages_<type>_sent for each type with a non-zero count (ping pong meet
  fail publish auth-req auth-ack update mfstart module publishshard), then
  cluster_stats_messages_sent (their sum), the same for _received, then
  total_cluster_links_buffer_limit_exceeded. cluster_size is 1 for the first 2 s after
  start (state not recomputed during a master's 2 s writable delay), then 0.
  RESP3: NODES and INFO are verbatim "txt"; SLOTS metadata is a map; SHARDS and LINKS
  entries are maps. HELLO mode "cluster"; INFO server redis_mode:cluster.
KEYSLOT: CRC16-XMODEM mod 16384 of the part between the first "{" and the next "}" if
  non-empty ("{}x" hashes whole, "a{b}c{d}" hashes "b").
Errors (exact): see the asserts; among them "ERR Slot 0 is already busy", "ERR Invalid or
  out of range slot", "ERR Slot 5 specified multiple times", "ERR start slot number 30 is
  greater than end slot number 25", "ERR Slot 100 is already unassigned", "ERR Invalid
  slot", "ERR Invalid slot or number of keys", "ERR I'm not the owner of hash slot 100",
  "ERR I don't know about node <id>", "ERR I'm already the owner of hash slot 1",
  "ERR Unknown node <id>", "ERR Invalid CLUSTER SETSLOT action or number of arguments.
  Try CLUSTER HELP", "ERR Target node is not a master", "ERR Please use SETSLOT only with
  masters.", "ERR Can't assign hashslot 1234 to a different node while I still hold keys
  for this hash slot.", "ERR I tried hard but I can't forget myself...", "ERR Can't
  forget my master!", "ERR Can't replicate myself", "ERR I can only replicate a master,
  not a replica.", "ERR To set a master the node must be empty and without assigned
  slots.", "ERR Invalid TCP base port specified: x", "ERR Invalid node address
  specified: nonip:1234", "ERR You should send CLUSTER FAILOVER to a replica",
  "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE", "ERR Invalid config
  epoch specified: -1", "ERR Node config epoch is already non-zero", "ERR The user can
  assign a config epoch only when the node does not know any other node.", "ERR CLUSTER
  RESET can't be called with master nodes containing keys", "ERR SELECT is not allowed in
  cluster mode" (SELECT 0 is OK), "ERR SWAPDB is not allowed in cluster mode", "ERR MOVE
  is not allowed in cluster mode", "ERR Copying to another database is not allowed in
  cluster mode". BUMPEPOCH -> "BUMPED <n>" / "STILL <n>" (simple strings).
RESET SOFT: same id, others forgotten, slots dropped, epochs kept, saved at once; HARD:
  new id, currentEpoch and configEpoch 0. Default is SOFT.
NODES lines: "<id> <ip>:<port>@<cport>[,<hostname>] <flags> <master|-> <ping_sent ms>
  <pong_recv ms> <configEpoch> <connected|disconnected> <slots...>", ranges ascending,
  a single slot alone, open slots only on the myself line: "[5->-<dst>]" "[200-<-<src>]";
  a replica line shows its master's configEpoch (CLUSTER INFO cluster_my_epoch too).
  REPLICAS/SLAVES: array of NODES lines without "\n". nodes.conf: the same lines plus
  "vars currentEpoch <n> lastVoteEpoch <n>" last, ending in "\n".
SLOTS: by slot order, [start, end, [ip, port, id, []] master, then each replica];
  a replica whose known replication offset is 0 is left out (and "loading" in SHARDS).
  With cluster-announce-hostname the metadata is [hostname, h]; with
  cluster-preferred-endpoint-type hostname the hostname comes first and the metadata is
  [ip, <ip>] (MOVED uses the hostname); unknown-endpoint: NULL first, ip and hostname in
  the metadata, MOVED ":<port>". SHARDS node fields: id port ip endpoint [hostname] role
  replication-offset health. LINKS: two per peer (direction to/from), fields direction
  node create-time events send-buffer-allocated send-buffer-used.
Routing: "MOVED <slot> <ip>:<port>" for any key command (replicas without READONLY too,
  WATCH, EVAL keys, BLPOP...); "CROSSSLOT Keys in request don't hash to the same slot";
  in MULTI a MOVED/CROSSSLOT at queue time -> EXEC "EXECABORT Transaction discarded
  because of previous errors."; queued commands on two slots -> EXEC answers CROSSSLOT.
  READONLY replica: reads of its master's slots, EVAL/EVAL_RO/no-writes scripts served,
  writes and "#!lua" scripts without no-writes get MOVED, READWRITE undoes it.
  Scripts: an undeclared key of another node -> "ERR Script attempted to access a non
  local key in a cluster node script: <sha>, on @user_script:1." (another local slot is
  fine). Migration: missing key in a MIGRATING slot -> "ASK <slot> <ip>:<port>"; the
  IMPORTING node answers MOVED unless the previous command was ASKING (one command
  only); multi-key with some keys missing -> "TRYAGAIN Multiple keys request during
  rehashing of slot"; MIGRATE "NOKEY"; to a non-importing target -> "ERR Target instance
  replied with error: MOVED <slot> <source addr>".
CLUSTERDOWN: uncovered slot -> "CLUSTERDOWN Hash slot not served"; state fail ->
  "CLUSTERDOWN The cluster is down"; with cluster-allow-reads-when-down yes writes get
  "CLUSTERDOWN The cluster is down and only accepts read commands" (scripts: "ERR Script
  attempted to execute a write command while the cluster is down and readonly script:
  <sha>, on @user_script:1."); with cluster-require-full-coverage no the state stays ok
  and only the uncovered slots answer "Hash slot not served". A dead master without
  replica: after node-timeout the others flag it "master,fail", cluster_slots_fail 5461,
  state fail, COUNT-FAILURE-REPORTS 1.
Pub/sub: PUBLISH reaches subscribers on every node (the count is local). SSUBSCRIBE /
  SPUBLISH on the shard's master or replica (else MOVED; two slots CROSSSLOT); SPUBLISH
  reaches the whole shard over the bus; "smessage"; SUNSUBSCRIBE with none ->
  [sunsubscribe, nil, 0].
Failover (node-timeout 1500): kill -9 of a master -> its replica is master in ~3 s with
  configEpoch = currentEpoch > all before; the dead one is "master,fail" with no slots;
  restarted, it comes back as a replica of the new master (same id). SIGSTOP: same, and
  after SIGCONT it turns into a replica. CLUSTER FAILOVER: roles swap, no acknowledged
  write lost (clients are paused, then MOVED). FORCE works with the master dead (when
  auto failover is off: cluster-replica-no-failover yes); TAKEOVER swaps at once with
  currentEpoch + 1. Restarts keep id, flags, master, currentEpoch and configEpoch; voters
  store lastVoteEpoch.
"""

import os
import re
import signal
import threading
import time

import pytest

from cluster_helpers import (
    Cluster,
    key_for_slot,
    keyslot,
    parse_nodes,
)
from helpers import HOST, SERVER_BIN, Client, RespError, Verbatim, parse_info, wait_until

HEX40 = re.compile(r"^[0-9a-f]{40}$")
ZERO_ID = "0" * 40
DISABLED = "ERR This instance has cluster support disabled"
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."

# CLUSTER INFO: the fixed fields, in order; the per-type message counters come between
# cluster_my_epoch and cluster_stats_messages_sent (sent) / _received, only for types with
# a non-zero count, in this order of message types.
INFO_HEAD = ["cluster_state", "cluster_slots_assigned", "cluster_slots_ok", "cluster_slots_pfail",
             "cluster_slots_fail", "cluster_known_nodes", "cluster_size", "cluster_current_epoch",
             "cluster_my_epoch"]
MSG_TYPES = ["ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart",
             "module", "publishshard"]


# ---------------------------------------------------------------------------
# fixtures / helpers
# ---------------------------------------------------------------------------




@pytest.fixture(scope="module")
def shared():
    """3 masters + 3 replicas made by redis-cli --cluster create --cluster-replicas 1
    (node-timeout 5000: nothing here should ever fail over)."""
    if not os.path.exists(SERVER_BIN):
        pytest.fail("server binary %s does not exist (set REDUST_SERVER)" % SERVER_BIN)
    cl = Cluster(node_timeout=5000)
    try:
        cl.create_with_cli(3, 1)
        cl.wait_replicas_visible()
        cl.m = cl.masters()
        cl.r = [cl.replicas_of(m)[0] for m in cl.m]
        yield cl
    finally:
        cl.cleanup()


def info_lines(raw):
    """CLUSTER INFO text -> [(field, value)] in order; every line ends with CRLF."""
    text = raw.decode()
    assert text.endswith("\r\n")
    return [tuple(line.split(":", 1)) for line in text[:-2].split("\r\n")]


def check_info_layout(pairs):
    """Field order: INFO_HEAD, per-type *_sent (known types, in MSG_TYPES order, values > 0),
    cluster_stats_messages_sent (their sum), the same for received, then
    total_cluster_links_buffer_limit_exceeded."""
    names = [k for k, _ in pairs]
    d = dict(pairs)
    assert names[:len(INFO_HEAD)] == INFO_HEAD
    rest = names[len(INFO_HEAD):]
    for direction in ("sent", "received"):
        per = []
        while rest and rest[0] != "cluster_stats_messages_%s" % direction:
            m = re.match(r"^cluster_stats_messages_(.+)_%s$" % direction, rest[0])
            assert m and m.group(1) in MSG_TYPES, rest[0]
            per.append(m.group(1))
            rest = rest[1:]
        assert per == sorted(per, key=MSG_TYPES.index), per
        assert all(int(d["cluster_stats_messages_%s_%s" % (t, direction)]) > 0 for t in per)
        assert rest[0] == "cluster_stats_messages_%s" % direction
        assert int(d[rest[0]]) == sum(int(d["cluster_stats_messages_%s_%s" % (t, direction)]) for t in per)
        rest = rest[1:]
    assert rest == ["total_cluster_links_buffer_limit_exceeded"]
    return d


def call(node, *args):
    c = Client(node.port, timeout=10)
    try:
        return c.call(*args)
    finally:
        c.close()


def moved(slot, node):
    return "MOVED %d %s:%d" % (slot, HOST, node.port)


# ---------------------------------------------------------------------------
# 1. cluster support disabled
# ---------------------------------------------------------------------------


def test_cluster_commands_on_a_non_cluster_server(c):
    for args in (("INFO",), ("NODES",), ("MYID",), ("SLOTS",), ("SHARDS",), ("LINKS",),
                 ("KEYSLOT", "a"), ("COUNTKEYSINSLOT", "1"), ("GETKEYSINSLOT", "1", "1"),
                 ("ADDSLOTS", "1"), ("ADDSLOTSRANGE", "1", "2"), ("DELSLOTS", "1"), ("MEET", HOST, "7000"),
                 ("RESET",), ("SAVECONFIG",), ("BUMPEPOCH",), ("SET-CONFIG-EPOCH", "1"), ("FAILOVER",),
                 ("REPLICAS", ZERO_ID), ("FORGET", ZERO_ID), ("HELP",)):
        assert c.err("CLUSTER", *args) == DISABLED, args
    for cmd in ("READONLY", "READWRITE", "ASKING"):
        assert c.err(cmd) == DISABLED
    # arity and unknown subcommands are checked first
    assert c.err("CLUSTER", "FOO") == "ERR unknown subcommand 'FOO'. Try CLUSTER HELP."
    assert c.err("CLUSTER", "KEYSLOT") == "ERR wrong number of arguments for 'cluster|keyslot' command"
    assert c.call("INFO", "cluster") == b"# Cluster\r\ncluster_enabled:0\r\n"
    assert parse_info(c.call("INFO", "server"))[1]["redis_mode"] == "standalone"
    # sharded pub/sub works without cluster mode
    assert c.call("SPUBLISH", "ch", "msg") == 0


# ---------------------------------------------------------------------------
# 2. one fresh node
# ---------------------------------------------------------------------------


def test_keyslot_and_hash_tags(make_cluster):
    n = make_cluster().add_node()
    c = n.client()
    cases = {
        "key_01": 1579, "{user}:a": 5474, "{user}:b": 5474, "user": 5474, "{}x": 10595, "{}": 15257,
        "a{b}c{d}": 3300, "b": 3300, "a{}{b}": 15033, "{a": keyslot("{a"), "": 0, "foo": 12182,
        "{foo}bar": 12182, "a{foo}": 12182, "x{foo}{bar}": 12182,
    }
    for key, slot in cases.items():
        assert c.call("CLUSTER", "KEYSLOT", key) == slot, key
        assert keyslot(key) == slot, key  # the helper agrees
    assert c.call("CLUSTER", "KEYSLOT", b"\xff\x00binary") == keyslot(b"\xff\x00binary")
    assert c.err("CLUSTER", "KEYSLOT") == "ERR wrong number of arguments for 'cluster|keyslot' command"
    assert c.err("CLUSTER", "KEYSLOT", "a", "b") == "ERR wrong number of arguments for 'cluster|keyslot' command"


def test_fresh_node_identity_and_views(make_cluster):
    n = make_cluster().add_node()
    c = n.client()
    myid = c.call("CLUSTER", "MYID")
    assert isinstance(myid, bytes) and HEX40.match(myid.decode())
    # before any MEET the node does not know its own IP: the address is empty
    assert c.call("CLUSTER", "NODES") == (
        "%s :%d@%d myself,master - 0 0 0 connected\n" % (myid.decode(), n.port, n.port + 10000)).encode()
    assert c.call("CLUSTER", "SLOTS") == []
    assert c.call("CLUSTER", "LINKS") == []
    assert c.call("CLUSTER", "SHARDS") == [[
        b"slots", [], b"nodes", [[b"id", myid, b"port", n.port, b"ip", b"", b"endpoint", b"", b"role", b"master",
                                  b"replication-offset", 0, b"health", b"online"]]]]
    assert c.call("CLUSTER", "REPLICAS", myid) == []
    assert c.call("CLUSTER", "SLAVES", myid) == []
    assert c.call("CLUSTER", "COUNT-FAILURE-REPORTS", myid) == 0
    assert c.call("INFO", "cluster") == b"# Cluster\r\ncluster_enabled:1\r\n"
    assert parse_info(c.call("INFO", "server"))[1]["redis_mode"] == "cluster"
    assert c.call("HELLO", "3")[b"mode"] == b"cluster"
    # RESP3: NODES and INFO are verbatim strings
    nodes = c.call("CLUSTER", "NODES")
    assert isinstance(nodes, Verbatim) and nodes.format == "txt"
    info = c.call("CLUSTER", "INFO")
    assert isinstance(info, Verbatim) and info.format == "txt"
    assert c.call("CLUSTER", "SLOTS") == []
    # the id is kept in nodes.conf: same id after a restart
    n.restart()
    assert call(n, "CLUSTER", "MYID") == myid


def test_cluster_info_fresh_node(make_cluster):
    n = make_cluster().add_node()
    c = n.client()
    pairs = info_lines(c.call("CLUSTER", "INFO"))
    d = check_info_layout(pairs)
    assert [k for k, _ in pairs] == INFO_HEAD + ["cluster_stats_messages_sent", "cluster_stats_messages_received",
                                                 "total_cluster_links_buffer_limit_exceeded"]
    assert {k: v for k, v in d.items() if k != "cluster_size"} == {
        "cluster_state": "fail", "cluster_slots_assigned": "0", "cluster_slots_ok": "0",
        "cluster_slots_pfail": "0", "cluster_slots_fail": "0", "cluster_known_nodes": "1",
        "cluster_current_epoch": "0", "cluster_my_epoch": "0", "cluster_stats_messages_sent": "0",
        "cluster_stats_messages_received": "0", "total_cluster_links_buffer_limit_exceeded": "0"}
    # cluster_size starts at 1 and is only recomputed once the 2 s "writable delay" after
    # start-up is over (the state update returns early until then); then 0 masters own slots.
    assert d["cluster_size"] in ("0", "1")
    wait_until(lambda: n.cluster_info()["cluster_size"] == "0", 10, 0.05)


def test_addslots_delslots_and_ranges(make_cluster):
    n = make_cluster().add_node()
    c = n.client()
    myid = n.myid()
    assert c.call("CLUSTER", "ADDSLOTS", "0", "1") == "OK"
    assert c.err("CLUSTER", "ADDSLOTS", "0") == "ERR Slot 0 is already busy"
    assert c.err("CLUSTER", "ADDSLOTS", "16384") == "ERR Invalid or out of range slot"
    assert c.err("CLUSTER", "ADDSLOTS", "-1") == "ERR Invalid or out of range slot"
    assert c.err("CLUSTER", "ADDSLOTS", "x") == "ERR Invalid or out of range slot"
    assert c.err("CLUSTER", "ADDSLOTS", "5", "5") == "ERR Slot 5 specified multiple times"
    assert c.err("CLUSTER", "ADDSLOTS") == "ERR wrong number of arguments for 'cluster|addslots' command"
    # an error anywhere in the list: nothing is added
    assert c.err("CLUSTER", "ADDSLOTS", "7", "0") == "ERR Slot 0 is already busy"
    assert c.call("CLUSTER", "ADDSLOTSRANGE", "10", "20") == "OK"
    assert c.err("CLUSTER", "ADDSLOTSRANGE", "15", "30") == "ERR Slot 15 is already busy"
    assert c.err("CLUSTER", "ADDSLOTSRANGE", "30", "25") == "ERR start slot number 30 is greater than end slot number 25"
    assert c.err("CLUSTER", "ADDSLOTSRANGE", "40", "50", "45", "60") == "ERR Slot 45 specified multiple times"
    assert c.err("CLUSTER", "ADDSLOTSRANGE", "1") == "ERR wrong number of arguments for 'cluster|addslotsrange' command"
    assert c.err("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3") == \
        "ERR wrong number of arguments for 'cluster|addslotsrange' command"
    assert c.err("CLUSTER", "ADDSLOTSRANGE", "1", "16384") == "ERR Invalid or out of range slot"
    assert c.err("CLUSTER", "ADDSLOTSRANGE", "x", "2") == "ERR Invalid or out of range slot"
    assert c.call("CLUSTER", "NODES").decode() == "%s :%d@%d myself,master - 0 0 0 connected 0-1 10-20\n" % (
        myid, n.port, n.port + 10000)

    assert c.err("CLUSTER", "DELSLOTS", "100") == "ERR Slot 100 is already unassigned"
    assert c.err("CLUSTER", "DELSLOTS", "1", "1") == "ERR Slot 1 specified multiple times"
    assert c.err("CLUSTER", "DELSLOTS", "16384") == "ERR Invalid or out of range slot"
    assert c.call("CLUSTER", "DELSLOTS", "0") == "OK"
    assert c.err("CLUSTER", "DELSLOTSRANGE", "100", "200") == "ERR Slot 100 is already unassigned"
    assert c.err("CLUSTER", "DELSLOTSRANGE", "12", "11") == "ERR start slot number 12 is greater than end slot number 11"
    assert c.err("CLUSTER", "DELSLOTSRANGE", "13", "14", "14", "15") == "ERR Slot 14 specified multiple times"
    assert c.call("CLUSTER", "DELSLOTSRANGE", "10", "12") == "OK"
    # single slots print alone, ranges as a-b, ascending
    assert c.call("CLUSTER", "NODES").decode() == "%s :%d@%d myself,master - 0 0 0 connected 1 13-20\n" % (
        myid, n.port, n.port + 10000)
    node = [b"", n.port, myid.encode(), []]
    assert c.call("CLUSTER", "SLOTS") == [[1, 1, node], [13, 20, node]]
    assert c.call("CLUSTER", "SHARDS")[0][:2] == [b"slots", [1, 1, 13, 20]]
    info = n.cluster_info()
    assert (info["cluster_slots_assigned"], info["cluster_slots_ok"]) == ("9", "9")
    assert c.call("CLUSTER", "FLUSHSLOTS") == "OK"
    assert n.cluster_info()["cluster_slots_assigned"] == "0"


def test_bumpepoch_and_set_config_epoch(make_cluster):
    cl = make_cluster()
    a, b = cl.start_nodes(2)
    c = a.client()
    assert c.err("CLUSTER", "SET-CONFIG-EPOCH", "-1") == "ERR Invalid config epoch specified: -1"
    assert c.err("CLUSTER", "SET-CONFIG-EPOCH", "x") == "ERR value is not an integer or out of range"
    assert c.call("CLUSTER", "SET-CONFIG-EPOCH", "5") == "OK"
    info = a.cluster_info()
    assert (info["cluster_current_epoch"], info["cluster_my_epoch"]) == ("5", "5")
    assert c.err("CLUSTER", "SET-CONFIG-EPOCH", "6") == "ERR Node config epoch is already non-zero"
    # our epoch is already the largest: nothing to do
    assert c.call("CLUSTER", "BUMPEPOCH") == "STILL 5"
    # a fresh node (epoch 0) bumps: currentEpoch + 1
    cb = b.client()
    assert cb.call("CLUSTER", "BUMPEPOCH") == "BUMPED 1"
    assert cb.call("CLUSTER", "BUMPEPOCH") == "STILL 1"
    assert (b.cluster_info()["cluster_current_epoch"], b.cluster_info()["cluster_my_epoch"]) == ("1", "1")
    assert cb.call("CLUSTER", "MEET", HOST, a.port) == "OK"
    wait_until(lambda: a.cluster_info()["cluster_known_nodes"] == "2", 10, 0.05)
    assert cb.err("CLUSTER", "SET-CONFIG-EPOCH", "9") == \
        "ERR The user can assign a config epoch only when the node does not know any other node."
    # b learns currentEpoch 5 from a, then bumping gives 6
    wait_until(lambda: b.cluster_info()["cluster_current_epoch"] == "5", 10, 0.05)
    assert cb.call("CLUSTER", "BUMPEPOCH") == "BUMPED 6"
    wait_until(lambda: a.cluster_info()["cluster_current_epoch"] == "6", 10, 0.05)


def test_setslot_errors_and_open_slot_markers(make_cluster):
    n = make_cluster().add_node()
    c = n.client()
    me = n.myid()
    assert c.call("CLUSTER", "ADDSLOTSRANGE", "0", "10") == "OK"
    assert c.err("CLUSTER", "SETSLOT", "100", "MIGRATING", ZERO_ID) == "ERR I'm not the owner of hash slot 100"
    assert c.err("CLUSTER", "SETSLOT", "1", "MIGRATING", ZERO_ID) == "ERR I don't know about node %s" % ZERO_ID
    assert c.err("CLUSTER", "SETSLOT", "100", "IMPORTING", ZERO_ID) == "ERR I don't know about node %s" % ZERO_ID
    assert c.err("CLUSTER", "SETSLOT", "1", "IMPORTING", me) == "ERR I'm already the owner of hash slot 1"
    assert c.err("CLUSTER", "SETSLOT", "100", "NODE", ZERO_ID) == "ERR Unknown node %s" % ZERO_ID
    bad = "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
    assert c.err("CLUSTER", "SETSLOT", "100", "FOO") == bad
    assert c.err("CLUSTER", "SETSLOT", "100", "NODE") == bad
    assert c.err("CLUSTER", "SETSLOT", "100", "MIGRATING") == bad
    assert c.err("CLUSTER", "SETSLOT", "16384", "STABLE") == "ERR Invalid or out of range slot"
    assert c.err("CLUSTER", "SETSLOT", "x", "STABLE") == "ERR Invalid or out of range slot"
    assert c.err("CLUSTER", "SETSLOT", "100") == "ERR wrong number of arguments for 'cluster|setslot' command"
    # open slots appear on the myself line after the ranges: [slot->-dest] [slot-<-src]
    assert c.call("CLUSTER", "SETSLOT", "5", "MIGRATING", me) == "OK"
    assert c.call("CLUSTER", "SETSLOT", "200", "IMPORTING", me) == "OK"
    line = c.call("CLUSTER", "NODES").decode()
    assert line == "%s :%d@%d myself,master - 0 0 0 connected 0-10 [5->-%s] [200-<-%s]\n" % (
        me, n.port, n.port + 10000, me, me)
    assert parse_nodes(line)[0]["open"] == [(5, ">", me), (200, "<", me)]
    assert c.call("CLUSTER", "SETSLOT", "5", "STABLE") == "OK"
    assert c.call("CLUSTER", "SETSLOT", "200", "STABLE") == "OK"
    assert c.call("CLUSTER", "NODES").decode().endswith("connected 0-10\n")
    # SETSLOT NODE on a slot we own, to ourselves: OK and nothing changes
    assert c.call("CLUSTER", "SETSLOT", "3", "NODE", me) == "OK"
    assert c.call("CLUSTER", "NODES").decode().endswith("connected 0-10\n")


def test_forget_replicate_meet_failover_misc_errors(make_cluster):
    n = make_cluster().add_node()
    c = n.client()
    me = n.myid()
    assert c.err("CLUSTER", "FORGET", ZERO_ID) == "ERR Unknown node %s" % ZERO_ID
    assert c.err("CLUSTER", "FORGET", me) == "ERR I tried hard but I can't forget myself..."
    assert c.err("CLUSTER", "REPLICATE", ZERO_ID) == "ERR Unknown node %s" % ZERO_ID
    assert c.err("CLUSTER", "REPLICATE", me) == "ERR Can't replicate myself"
    assert c.err("CLUSTER", "REPLICAS", ZERO_ID) == "ERR Unknown node %s" % ZERO_ID
    assert c.err("CLUSTER", "COUNT-FAILURE-REPORTS", ZERO_ID) == "ERR Unknown node %s" % ZERO_ID
    assert c.err("CLUSTER", "MEET", HOST) == "ERR wrong number of arguments for 'cluster|meet' command"
    assert c.err("CLUSTER", "MEET", HOST, "x") == "ERR Invalid TCP base port specified: x"
    assert c.err("CLUSTER", "MEET", HOST, "1234", "x") == "ERR Invalid TCP bus port specified: x"
    assert c.err("CLUSTER", "MEET", "nonip", "1234") == "ERR Invalid node address specified: nonip:1234"
    assert c.err("CLUSTER", "MEET", HOST, "99999") == "ERR Invalid node address specified: 127.0.0.1:99999"
    assert c.err("CLUSTER", "FAILOVER") == "ERR You should send CLUSTER FAILOVER to a replica"
    assert c.err("CLUSTER", "FAILOVER", "FORCE") == "ERR You should send CLUSTER FAILOVER to a replica"
    assert c.err("CLUSTER", "FAILOVER", "FOO") == "ERR syntax error"
    assert c.err("CLUSTER", "FAILOVER", "FORCE", "X") == \
        "ERR unknown subcommand or wrong number of arguments for 'FAILOVER'. Try CLUSTER HELP."
    assert c.err("CLUSTER", "RESET", "FOO") == "ERR syntax error"
    assert c.err("CLUSTER", "FOO") == "ERR unknown subcommand 'FOO'. Try CLUSTER HELP."
    assert c.err("CLUSTER") == "ERR wrong number of arguments for 'cluster' command"
    assert c.err("CLUSTER", "COUNTKEYSINSLOT", "16384") == "ERR Invalid slot"
    assert c.err("CLUSTER", "COUNTKEYSINSLOT", "-1") == "ERR Invalid slot"
    assert c.err("CLUSTER", "COUNTKEYSINSLOT", "abc") == "ERR value is not an integer or out of range"
    assert c.err("CLUSTER", "GETKEYSINSLOT", "0", "-1") == "ERR Invalid slot or number of keys"
    assert c.err("CLUSTER", "GETKEYSINSLOT", "16384", "1") == "ERR Invalid slot or number of keys"
    assert c.err("CLUSTER", "GETKEYSINSLOT", "x", "1") == "ERR value is not an integer or out of range"
    assert c.err("CLUSTER", "GETKEYSINSLOT", "1", "x") == "ERR value is not an integer or out of range"
    assert c.call("CLUSTER", "COUNTKEYSINSLOT", "0") == 0
    assert c.call("CLUSTER", "GETKEYSINSLOT", "0", "10") == []
    assert c.call("CLUSTER", "SAVECONFIG") == "OK"
    # cluster-only connection commands just answer OK
    assert c.call("READONLY") == "OK"
    assert c.call("READWRITE") == "OK"
    assert c.call("ASKING") == "OK"
    # one database only
    assert c.call("SELECT", "0") == "OK"
    assert c.err("SELECT", "1") == "ERR SELECT is not allowed in cluster mode"
    assert c.err("SELECT", "x") == "ERR value is not an integer or out of range"
    assert c.err("SWAPDB", "0", "1") == "ERR SWAPDB is not allowed in cluster mode"
    help_lines = c.call("CLUSTER", "HELP")
    assert help_lines[0] == "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    for word in ("ADDSLOTS <slot> [<slot> ...]", "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
                 "BUMPEPOCH", "COUNT-FAILURE-REPORTS <node-id>", "FAILOVER [FORCE|TAKEOVER]", "LINKS",
                 "SHARDS", "SLOTS", "MYID", "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
                 "HELP"):
        assert word in help_lines, word


def test_reset_soft_and_hard(make_cluster):
    cl = make_cluster()
    a, b = cl.create_by_hand(2)[0]
    ca = a.client()
    key = key_for_slot(0, "reset")
    assert keyslot(key) == 0
    assert ca.call("SET", key, "v") == "OK"
    assert ca.err("CLUSTER", "RESET") == "ERR CLUSTER RESET can't be called with master nodes containing keys"
    # make sure our config epoch is not 0 (BUMPED n, or STILL n when it is already the largest)
    assert re.match(r"^(BUMPED|STILL) [1-9]\d*$", ca.call("CLUSTER", "BUMPEPOCH"))
    cur, mine = a.cluster_info()["cluster_current_epoch"], a.cluster_info()["cluster_my_epoch"]
    assert ca.call("FLUSHALL") == "OK"
    old_id = a.myid()

    assert ca.call("CLUSTER", "RESET", "SOFT") == "OK"
    # soft: same id, every other node forgotten, no slots, epochs kept
    assert ca.call("CLUSTER", "NODES").decode() == "%s %s:%d@%d myself,master - 0 0 %s connected\n" % (
        old_id, HOST, a.port, a.port + 10000, mine)
    info = a.cluster_info()
    assert (info["cluster_state"], info["cluster_known_nodes"], info["cluster_slots_assigned"]) == ("fail", "1", "0")
    assert (info["cluster_current_epoch"], info["cluster_my_epoch"]) == (cur, mine)
    # saved at once
    assert a.read_nodes_conf().splitlines() == [
        "%s %s:%d@%d myself,master - 0 0 %s connected" % (old_id, HOST, a.port, a.port + 10000, mine),
        "vars currentEpoch %s lastVoteEpoch 0" % cur]

    assert ca.call("CLUSTER", "RESET", "HARD") == "OK"
    new_id = ca.call("CLUSTER", "MYID").decode()
    assert HEX40.match(new_id) and new_id != old_id
    info = a.cluster_info()
    assert (info["cluster_current_epoch"], info["cluster_my_epoch"]) == ("0", "0")
    assert a.read_nodes_conf().splitlines()[-1] == "vars currentEpoch 0 lastVoteEpoch 0"
    # RESET with no argument is SOFT
    assert ca.call("CLUSTER", "RESET") == "OK"
    assert ca.call("CLUSTER", "MYID").decode() == new_id
    # b still knows the old a until it is forgotten
    assert old_id in {x["id"] for x in b.nodes()}


# ---------------------------------------------------------------------------
# 3. the shared 3 masters + 3 replicas cluster
# ---------------------------------------------------------------------------


def test_cluster_info_three_masters(shared):
    for i, m in enumerate(shared.m):
        d = check_info_layout(info_lines(call(m, "CLUSTER", "INFO")))
        assert {k: d[k] for k in INFO_HEAD} == {
            "cluster_state": "ok", "cluster_slots_assigned": "16384", "cluster_slots_ok": "16384",
            "cluster_slots_pfail": "0", "cluster_slots_fail": "0", "cluster_known_nodes": "6", "cluster_size": "3",
            # redis-cli gave the nodes config epochs 1..6 (masters first)
            "cluster_current_epoch": "6", "cluster_my_epoch": str(i + 1)}
        assert d["total_cluster_links_buffer_limit_exceeded"] == "0"
        assert int(d["cluster_stats_messages_ping_sent"]) > 0
        assert int(d["cluster_stats_messages_pong_received"]) > 0
        # a replica reports its master's config epoch as its own
        assert shared.r[i].cluster_info()["cluster_my_epoch"] == str(i + 1)
    # the first node was met by the five others
    first = check_info_layout(info_lines(call(shared.m[0], "CLUSTER", "INFO")))
    assert first["cluster_stats_messages_meet_received"] == "5"
    for n in shared.m[1:] + shared.r:
        assert check_info_layout(info_lines(call(n, "CLUSTER", "INFO")))["cluster_stats_messages_meet_sent"] == "1"


def test_cluster_nodes_format(shared):
    ranges = {m.myid(): r for m, r in zip(shared.m, [(0, 5460), (5461, 10922), (10923, 16383)])}
    master_of = {r.myid(): m.myid() for m, r in zip(shared.m, shared.r)}
    for n in shared.m + shared.r:
        raw = call(n, "CLUSTER", "NODES")
        assert isinstance(raw, bytes) and raw.endswith(b"\n") and b"\r" not in raw
        lines = raw.decode().split("\n")[:-1]
        assert len(lines) == 6
        parsed = parse_nodes(raw)
        assert {x["id"] for x in parsed} == set(ranges) | set(master_of)
        mine = [x for x in parsed if "myself" in x["flags"]]
        assert len(mine) == 1 and mine[0]["id"] == n.myid()
        for x in parsed:
            node = shared.by_id(x["id"])
            assert (x["ip"], x["port"], x["cport"], x["hostname"]) == (HOST, node.port, node.port + 10000, None)
            assert x["link"] == "connected" and x["ping_sent"] == 0 and x["open"] == []
            if x["id"] in ranges:
                assert x["flags"] == (["myself", "master"] if x is mine[0] else ["master"])
                assert x["master"] == "-" and x["slots"] == [ranges[x["id"]]]
                assert x["epoch"] == shared.m.index(node) + 1
            else:
                assert x["flags"] == (["myself", "slave"] if x is mine[0] else ["slave"])
                assert x["master"] == master_of[x["id"]] and x["slots"] == []
                # a replica line carries its master's config epoch
                assert x["epoch"] == shared.m.index(shared.by_id(x["master"])) + 1
            if x is not mine[0]:
                assert x["pong_recv"] > 1_600_000_000_000  # unix milliseconds
                assert abs(x["pong_recv"] / 1000 - time.time()) < 60
        # exact line layout: id ip:port@cport flags master ping pong epoch link slots
        for line in lines:
            assert re.match(r"^[0-9a-f]{40} 127\.0\.0\.1:\d+@\d+ (myself,)?(master|slave) (-|[0-9a-f]{40}) 0 \d+ \d+ "
                            r"connected( \d+-\d+)?$", line), line
    # CLUSTER REPLICAS / SLAVES: the replica's NODES line, without the newline
    for m, r in zip(shared.m, shared.r):
        reps = call(m, "CLUSTER", "REPLICAS", m.myid())
        assert len(reps) == 1 and isinstance(reps[0], bytes)
        assert parse_nodes(reps[0])[0]["id"] == r.myid() and not reps[0].endswith(b"\n")
        assert call(m, "CLUSTER", "SLAVES", m.myid())[0].split()[0] == r.myid().encode()
        assert call(m, "CLUSTER", "COUNT-FAILURE-REPORTS", r.myid()) == 0
        c = m.client()
        assert c.err("CLUSTER", "REPLICAS", r.myid()) == "ERR The specified node is not a master"


def expected_slots(shared, resp3=False):
    out = []
    meta = {} if resp3 else []
    for m, r, (a, b) in zip(shared.m, shared.r, [(0, 5460), (5461, 10922), (10923, 16383)]):
        out.append([a, b, [HOST.encode(), m.port, m.myid().encode(), meta],
                    [HOST.encode(), r.port, r.myid().encode(), meta]])
    return out


def test_cluster_slots_reply(shared):
    for n in shared.m + shared.r:
        c = n.client()
        # RESP2: [start, end, [ip, port, id, []] master first, then its replicas], by slot
        assert c.call("CLUSTER", "SLOTS") == expected_slots(shared)
        c.call("HELLO", "3")
        # RESP3: the metadata is a map
        assert c.call("CLUSTER", "SLOTS") == expected_slots(shared, resp3=True)
    c = shared.m[0].client()
    assert c.err("CLUSTER", "SLOTS", "x") == "ERR wrong number of arguments for 'cluster|slots' command"


def shard_nodes(shards_reply):
    """RESP2 CLUSTER SHARDS -> {first slot: [node field lists...]}."""
    out = {}
    for shard in shards_reply:
        assert [shard[0], shard[2]] == [b"slots", b"nodes"] and len(shard) == 4
        out[tuple(shard[1])] = shard[3]
    return out


def test_cluster_shards_reply(shared):
    m0 = shared.m[0]
    c = m0.client()
    key = key_for_slot(0, "shards")
    assert c.call("SET", key, "v") == "OK"
    assert c.call("WAIT", "1", "5000") == 1

    def all_online():
        return all(node[13] == b"online" for nodes in shard_nodes(call(m0, "CLUSTER", "SHARDS")).values()
                   for node in nodes)

    # a replica is "loading" while the offset known for it is 0
    wait_until(all_online, 15, 0.1, msg="every node of every shard healthy")
    for n in shared.m + shared.r:
        shards = shard_nodes(call(n, "CLUSTER", "SHARDS"))
        assert set(shards) == {(0, 5460), (5461, 10922), (10923, 16383)}
        for m, r, rng in zip(shared.m, shared.r, [(0, 5460), (5461, 10922), (10923, 16383)]):
            nodes = shards[rng]
            assert len(nodes) == 2
            for node, who, role in ((nodes[0], m, b"master"), (nodes[1], r, b"replica")):
                assert node[0::2] == [b"id", b"port", b"ip", b"endpoint", b"role", b"replication-offset", b"health"]
                assert node[1] == who.myid().encode() and node[3] == who.port
                assert node[5] == HOST.encode() and node[7] == HOST.encode()
                assert node[9] == role and isinstance(node[11], int) and node[13] == b"online"
    # RESP3: maps with the same keys in the same order
    c3 = m0.client()
    c3.call("HELLO", "3")
    shards3 = c3.call("CLUSTER", "SHARDS")
    assert len(shards3) == 3
    for shard in shards3:
        assert list(shard) == [b"slots", b"nodes"]
        for node in shard[b"nodes"]:
            assert list(node) == [b"id", b"port", b"ip", b"endpoint", b"role", b"replication-offset", b"health"]
    # a master's own replication-offset is its master_repl_offset (polled: the replication
    # PING every 10 s moves it)
    def same_offset():
        mine = shard_nodes(call(m0, "CLUSTER", "SHARDS"))[(0, 5460)][0][11]
        return mine == int(parse_info(call(m0, "INFO", "replication"))[1]["master_repl_offset"]) and mine > 0

    wait_until(same_offset, 5, 0.05)


def test_cluster_links_reply(shared):
    m0 = shared.m[0]
    peers = {n.myid() for n in shared.m + shared.r} - {m0.myid()}
    links = call(m0, "CLUSTER", "LINKS")
    # two links per peer: ours to it, its to us
    assert len(links) == 2 * len(peers)
    seen = set()
    for link in links:
        assert link[0::2] == [b"direction", b"node", b"create-time", b"events", b"send-buffer-allocated",
                              b"send-buffer-used"]
        assert link[1] in (b"to", b"from")
        assert link[3].decode() in peers
        assert isinstance(link[5], int) and abs(link[5] / 1000 - time.time()) < 120
        assert link[7] in (b"r", b"w", b"rw")
        assert isinstance(link[9], int) and isinstance(link[11], int) and link[9] >= link[11] >= 0
        seen.add((link[1], link[3].decode()))
    assert seen == {(d, p) for d in (b"to", b"from") for p in peers}
    c = m0.client()
    c.call("HELLO", "3")
    links3 = c.call("CLUSTER", "LINKS")
    assert len(links3) == len(links)
    assert list(links3[0]) == [b"direction", b"node", b"create-time", b"events", b"send-buffer-allocated",
                               b"send-buffer-used"]


def test_saved_nodes_conf_format(shared):
    for n in shared.m + shared.r:
        assert call(n, "CLUSTER", "SAVECONFIG") == "OK"
        text = n.read_nodes_conf()
        assert text.endswith("\n")
        lines = text.split("\n")[:-1]
        assert lines[-1] == "vars currentEpoch 6 lastVoteEpoch 0"
        assert len(lines) == 7
        conf = parse_nodes("\n".join(lines[:-1]))
        live = {x["id"]: x for x in n.nodes()}
        assert {x["id"] for x in conf} == set(live)
        for x in conf:
            y = live[x["id"]]
            assert (x["ip"], x["port"], x["cport"], x["flags"], x["master"], x["epoch"], x["link"], x["slots"]) == \
                (y["ip"], y["port"], y["cport"], y["flags"], y["master"], y["epoch"], y["link"], y["slots"])
        assert [x["id"] for x in conf if "myself" in x["flags"]] == [n.myid()]


def test_moved_redirections(shared):
    for i, m in enumerate(shared.m):
        key = shared.key_on(m, "moved")
        slot = keyslot(key)
        for other in shared.m + shared.r:
            c = other.client()
            if other is m:
                assert c.call("SET", key, "v") == "OK"
                continue
            # every key command on a node that does not own the slot, replicas included
            for args in (("GET", key), ("SET", key, "x"), ("DEL", key), ("TYPE", key), ("EXISTS", key),
                         ("OBJECT", "ENCODING", key), ("BLPOP", key, "0"),
                         ("WATCH", key), ("EVAL", "return 1", "1", key), ("MSET", key, "1", "{%s}x" % key, "2")):
                assert c.err(*args) == moved(slot, m), (other, args)


def test_crossslot_and_same_slot_multikey(shared):
    m0 = shared.m[0]
    c = m0.client()
    a, b = key_for_slot(0, "xa"), key_for_slot(1, "xb")  # both slots owned by m0
    for args in (("MSET", a, "1", b, "2"), ("MGET", a, b), ("DEL", a, b), ("EXISTS", a, b), ("RENAME", a, b),
                 ("SUNIONSTORE", a, b), ("SINTERCARD", "2", a, b), ("BLPOP", a, b, "0"), ("WATCH", a, b),
                 ("EVAL", "return 1", "2", a, b), ("FCALL", "f", "2", a, b)):
        assert c.err(*args) == CROSSSLOT, args
    # keys of other nodes' slots: still CROSSSLOT when the slots differ
    assert c.err("MGET", a, key_for_slot(6000, "xc")) == CROSSSLOT
    # the same hash tag: one slot
    assert c.call("MSET", "{%s}1" % a, "1", "{%s}2" % a, "2") == "OK"
    assert c.call("MGET", "{%s}1" % a, "{%s}2" % a) == [b"1", b"2"]
    assert c.call("DEL", "{%s}1" % a, "{%s}2" % a) == 2
    # same slot, owned by another node: MOVED
    far = shared.key_on(shared.m[2], "xfar")
    assert c.err("MSET", "{%s}1" % far, "1", "{%s}2" % far, "2") == moved(keyslot(far), shared.m[2])


def test_keyless_commands_work_on_every_node(shared):
    for n in shared.m + shared.r:
        c = n.client()
        assert c.call("PING") == "PONG"
        assert c.call("ECHO", "x") == b"x"
        assert isinstance(c.call("DBSIZE"), int)
        assert isinstance(c.call("TIME"), list)
        assert c.call("CLIENT", "SETNAME", "n1") == "OK"
        assert parse_info(c.call("INFO", "cluster"))[1]["cluster_enabled"] == "1"
        assert isinstance(c.call("KEYS", "nosuchprefix*"), list)
        assert c.call("SCAN", "0", "MATCH", "nosuchprefix*")[1] == []
        assert c.call("EVAL", "return 1", "0") == 1
        assert c.call("CONFIG", "GET", "cluster-enabled") == [b"cluster-enabled", b"yes"]


def test_select_move_copy_and_db_commands(shared):
    m0 = shared.m[0]
    c = m0.client()
    key = shared.key_on(m0, "db")
    assert c.call("SET", key, "v") == "OK"
    assert c.err("MOVE", key, "1") == "ERR MOVE is not allowed in cluster mode"
    assert c.err("COPY", key, "{%s}2" % key, "DB", "1") == "ERR Copying to another database is not allowed in cluster mode"
    assert c.call("COPY", key, "{%s}2" % key) == 1
    assert c.call("SELECT", "0") == "OK"
    assert c.err("SELECT", "1") == "ERR SELECT is not allowed in cluster mode"
    assert c.err("SWAPDB", "0", "1") == "ERR SWAPDB is not allowed in cluster mode"
    # the key lookup comes first: a key of another node gets MOVED, not the MOVE error
    far = shared.key_on(shared.m[1], "dbfar")
    assert c.err("MOVE", far, "1") == moved(keyslot(far), shared.m[1])


def test_readonly_replica(shared):
    m0, r0 = shared.m[0], shared.r[0]
    key = shared.key_on(m0, "ro")
    slot = keyslot(key)
    mc = m0.client()
    assert mc.call("SET", key, "v1") == "OK"
    assert mc.call("WAIT", "1", "5000") == 1
    rc = r0.client()
    assert rc.err("GET", key) == moved(slot, m0)
    assert rc.call("READONLY") == "OK"
    assert rc.call("GET", key) == b"v1"
    assert rc.call("MGET", key, "{%s}2" % key) == [b"v1", None]
    assert rc.call("EXISTS", key) == 1
    # writes still go to the master
    assert rc.err("SET", key, "v2") == moved(slot, m0)
    assert rc.err("DEL", key) == moved(slot, m0)
    # a key of another master: MOVED to that master
    far = shared.key_on(shared.m[1], "rofar")
    assert rc.err("GET", far) == moved(keyslot(far), shared.m[1])
    # scripts: EVAL_RO and a script without a shebang run here (a write inside fails);
    # a "#!lua" script without no-writes counts as a write: MOVED
    assert rc.call("EVAL_RO", "return redis.call('get', KEYS[1])", "1", key) == b"v1"
    assert rc.call("EVAL", "return redis.call('get', KEYS[1])", "1", key) == b"v1"
    assert rc.call("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", key) == b"v1"
    assert rc.err("EVAL", "#!lua\nreturn redis.call('get', KEYS[1])", "1", key) == moved(slot, m0)
    sha = rc.call("SCRIPT", "LOAD", "return redis.call('set', KEYS[1], 'x')").decode()
    assert rc.err("EVALSHA", sha, "1", key) == \
        "READONLY You can't write against a read only replica. script: %s, on @user_script:1." % sha
    # MULTI with reads only is served too
    assert rc.call("MULTI") == "OK"
    assert rc.call("GET", key) == "QUEUED"
    assert rc.call("EXEC") == [b"v1"]
    assert rc.call("READWRITE") == "OK"
    assert rc.err("GET", key) == moved(slot, m0)
    # READONLY on a master changes nothing
    assert mc.call("READONLY") == "OK"
    assert mc.err("GET", far) == moved(keyslot(far), shared.m[1])


def test_multi_exec_in_cluster(shared):
    m0 = shared.m[0]
    c = m0.client()
    k0 = key_for_slot(0, "tx")
    k1 = key_for_slot(1, "tx")
    far = shared.key_on(shared.m[1], "txfar")
    # a queued command that gets MOVED aborts the transaction
    assert c.call("MULTI") == "OK"
    assert c.call("SET", k0, "1") == "QUEUED"
    assert c.err("SET", far, "2") == moved(keyslot(far), shared.m[1])
    assert c.err("EXEC") == EXECABORT
    assert c.call("GET", k0) is None
    # CROSSSLOT inside one command: same
    assert c.call("MULTI") == "OK"
    assert c.err("MSET", k0, "1", k1, "2") == CROSSSLOT
    assert c.err("EXEC") == EXECABORT
    # commands each fine but on two slots (both ours): EXEC itself answers CROSSSLOT
    assert c.call("MULTI") == "OK"
    assert c.call("SET", k0, "1") == "QUEUED"
    assert c.call("SET", k1, "1") == "QUEUED"
    assert c.err("EXEC") == CROSSSLOT
    assert c.call("GET", k0) is None and c.call("GET", k1) is None
    # one slot: fine
    assert c.call("MULTI") == "OK"
    assert c.call("SET", k0, "1") == "QUEUED"
    assert c.call("SET", "{%s}b" % k0, "2") == "QUEUED"
    assert c.call("EXEC") == ["OK", "OK"]


def test_eval_routing(shared):
    m0 = shared.m[0]
    c = m0.client()
    k0 = key_for_slot(0, "ev")
    k1 = key_for_slot(1, "ev")   # also m0's
    far = shared.key_on(shared.m[2], "evfar")
    assert c.call("SET", k0, "v") == "OK"
    get1 = "return redis.call('get', KEYS[1])"
    assert c.call("EVAL", get1, "1", k0) == b"v"
    assert c.err("EVAL", get1, "2", k0, k1) == CROSSSLOT
    assert c.err("EVAL", get1, "1", far) == moved(keyslot(far), shared.m[2])
    # an undeclared key in another of our slots is allowed
    assert c.call("EVAL", "return redis.call('get', '%s')" % k1, "1", k0) is None
    # an undeclared key owned by another node is an error raised inside the script
    script = "return redis.call('get', '%s')" % far
    sha = c.call("SCRIPT", "LOAD", script).decode()
    assert c.err("EVAL", script, "0") == \
        "ERR Script attempted to access a non local key in a cluster node script: %s, on @user_script:1." % sha
    assert c.err("EVALSHA", sha, "1", k0) == \
        "ERR Script attempted to access a non local key in a cluster node script: %s, on @user_script:1." % sha


def read_push(c, timeout=5.0):
    c.settimeout(timeout)
    try:
        return c.read_reply()
    finally:
        c.settimeout(10)


def test_publish_reaches_every_node(shared):
    subs = []
    for n in (shared.m[2], shared.r[0], shared.r[1]):
        s = n.client()
        assert s.call("SUBSCRIBE", "news-all") == [b"subscribe", b"news-all", 1]
        subs.append(s)
    local = shared.m[0].client()
    assert local.call("SUBSCRIBE", "news-all") == [b"subscribe", b"news-all", 1]
    p = shared.m[0].client()
    # the count is of local receivers only; the message crosses the bus to every node
    assert p.call("PUBLISH", "news-all", "hello") == 1
    for s in subs + [local]:
        assert read_push(s) == [b"message", b"news-all", b"hello"]
    # publishing on a replica works as well
    assert shared.r[2].client().call("PUBLISH", "news-all", "from-replica") == 0
    for s in subs + [local]:
        assert read_push(s) == [b"message", b"news-all", b"from-replica"]
    # PUBSUB NUMSUB is local
    assert p.call("PUBSUB", "NUMSUB", "news-all") == [b"news-all", 1]


def test_sharded_pubsub(shared):
    m0, r0 = shared.m[0], shared.r[0]
    ch = shared.key_on(m0, "sch")
    slot = keyslot(ch)
    ch_far = shared.key_on(shared.m[1], "schfar")
    on_replica = r0.client()
    assert on_replica.call("SSUBSCRIBE", ch) == [b"ssubscribe", ch.encode(), 1]
    on_master = m0.client()
    assert on_master.call("SSUBSCRIBE", ch, "{%s}x" % ch) == [b"ssubscribe", ch.encode(), 1]
    assert on_master.read_reply() == [b"ssubscribe", ("{%s}x" % ch).encode(), 2]
    # a node outside the shard redirects; channels of two slots: CROSSSLOT
    other = shared.m[1].client()
    assert other.err("SSUBSCRIBE", ch) == moved(slot, m0)
    assert other.err("SPUBLISH", ch, "x") == moved(slot, m0)
    assert other.err("SSUBSCRIBE", ch, ch_far) == CROSSSLOT
    assert shared.r[1].client().err("SSUBSCRIBE", ch) == moved(slot, m0)
    assert other.err("SUNSUBSCRIBE", ch) == moved(slot, m0)
    p = m0.client()
    assert p.err("SPUBLISH", ch_far, "x") == moved(keyslot(ch_far), shared.m[1])
    # SPUBLISH counts local receivers; the shard's other nodes get it over the bus
    assert p.call("SPUBLISH", ch, "hello") == 1
    assert read_push(on_master) == [b"smessage", ch.encode(), b"hello"]
    assert read_push(on_replica) == [b"smessage", ch.encode(), b"hello"]
    # publishing from the replica reaches the master's subscribers
    assert r0.client().call("SPUBLISH", ch, "from-replica") == 1
    assert read_push(on_replica) == [b"smessage", ch.encode(), b"from-replica"]
    assert read_push(on_master) == [b"smessage", ch.encode(), b"from-replica"]
    assert p.call("PUBSUB", "SHARDNUMSUB", ch, ch_far) == [ch.encode(), 1, ch_far.encode(), 0]
    assert sorted(p.call("PUBSUB", "SHARDCHANNELS", "sch*")) == sorted([ch.encode()])
    # RESP3 push
    c3 = m0.client()
    c3.call("HELLO", "3")
    assert c3.call("SSUBSCRIBE", "{%s}3" % ch) == [b"ssubscribe", ("{%s}3" % ch).encode(), 1]
    assert p.call("SPUBLISH", "{%s}3" % ch, "r3") == 1
    got = read_push(c3)
    assert type(got).__name__ == "Push" and got == [b"smessage", ("{%s}3" % ch).encode(), b"r3"]
    q = m0.client()
    assert q.call("SUNSUBSCRIBE") == [b"sunsubscribe", None, 0]
    assert q.err("SSUBSCRIBE") == "ERR wrong number of arguments for 'ssubscribe' command"


def test_countkeysinslot_getkeysinslot(shared):
    m0 = shared.m[0]
    c = m0.client()
    tag = key_for_slot(77, "cnt")
    keys = ["{%s}%d" % (tag, i) for i in range(5)]
    for k in keys:
        assert c.call("SET", k, "v") == "OK"
    assert c.call("CLUSTER", "COUNTKEYSINSLOT", "77") == 5
    assert sorted(c.call("CLUSTER", "GETKEYSINSLOT", "77", "10")) == sorted(k.encode() for k in keys)
    two = c.call("CLUSTER", "GETKEYSINSLOT", "77", "2")
    assert len(two) == 2 and set(two) <= {k.encode() for k in keys}
    assert c.call("CLUSTER", "GETKEYSINSLOT", "77", "0") == []
    # counts are local: the replica has them too, another master has none
    assert c.call("WAIT", "1", "5000") == 1
    assert call(shared.r[0], "CLUSTER", "COUNTKEYSINSLOT", "77") == 5
    assert call(shared.m[1], "CLUSTER", "COUNTKEYSINSLOT", "77") == 0
    assert c.call("DEL", *keys) == 5
    assert c.call("CLUSTER", "COUNTKEYSINSLOT", "77") == 0


def test_errors_that_need_peers(shared):
    m0, m1, r0 = shared.m[0], shared.m[1], shared.r[0]
    c = m0.client()
    assert c.err("CLUSTER", "SET-CONFIG-EPOCH", "10") == \
        "ERR The user can assign a config epoch only when the node does not know any other node."
    assert c.err("CLUSTER", "SETSLOT", "0", "NODE", r0.myid()) == "ERR Target node is not a master"
    assert c.err("CLUSTER", "SETSLOT", "0", "MIGRATING", r0.myid()) == "ERR Target node is not a master"
    assert c.err("CLUSTER", "SETSLOT", "6000", "IMPORTING", r0.myid()) == "ERR Target node is not a master"
    assert c.err("CLUSTER", "SETSLOT", "0", "IMPORTING", m1.myid()) == "ERR I'm already the owner of hash slot 0"
    assert c.err("CLUSTER", "SETSLOT", "6000", "MIGRATING", m1.myid()) == "ERR I'm not the owner of hash slot 6000"
    assert c.err("CLUSTER", "REPLICATE", r0.myid()) == "ERR I can only replicate a master, not a replica."
    assert c.err("CLUSTER", "REPLICATE", m1.myid()) == "ERR To set a master the node must be empty and without assigned slots."
    assert c.err("CLUSTER", "FAILOVER") == "ERR You should send CLUSTER FAILOVER to a replica"
    rc = r0.client()
    assert rc.err("CLUSTER", "SETSLOT", "0", "STABLE") == "ERR Please use SETSLOT only with masters."
    assert rc.err("CLUSTER", "FORGET", m0.myid()) == "ERR Can't forget my master!"
    assert rc.err("CLUSTER", "ADDSLOTS", "0") == "ERR Slot 0 is already busy"
    assert rc.err("CLUSTER", "REPLICATE", r0.myid()) == "ERR Can't replicate myself"
    # keys stop a SETSLOT NODE away from us
    key = key_for_slot(1234, "keep")
    assert c.call("SET", key, "v") == "OK"
    assert c.err("CLUSTER", "SETSLOT", "1234", "NODE", m1.myid()) == \
        "ERR Can't assign hashslot 1234 to a different node while I still hold keys for this hash slot."
    assert c.call("DEL", key) == 1


# ---------------------------------------------------------------------------
# 4. fresh small clusters (slots change)
# ---------------------------------------------------------------------------


def test_ask_tryagain_and_migrate(make_cluster):
    cl = make_cluster()
    (a, b), _ = cl.create_by_hand(2)
    ca, cb = a.client(), b.client()
    tag = key_for_slot(0, "mig")
    k = lambda s: "{%s}%s" % (tag, s)  # noqa: E731
    assert ca.call("SET", k("a"), "1") == "OK"
    assert ca.call("SET", k("b"), "2") == "OK"
    # MIGRATE to a node that is not importing: its RESTORE-ASKING is redirected
    assert ca.err("MIGRATE", HOST, b.port, k("a"), "0", "5000") == \
        "ERR Target instance replied with error: MOVED 0 %s:%d" % (HOST, a.port)
    assert cb.call("CLUSTER", "SETSLOT", "0", "IMPORTING", a.myid()) == "OK"
    assert ca.call("CLUSTER", "SETSLOT", "0", "MIGRATING", b.myid()) == "OK"
    assert a.me()["open"] == [(0, ">", b.myid())]
    assert b.me()["open"] == [(0, "<", a.myid())]
    ask = "ASK 0 %s:%d" % (HOST, b.port)
    # the source still serves keys it has; a missing key is sent to the target with ASK
    assert ca.call("GET", k("a")) == b"1"
    assert ca.err("GET", k("zz")) == ask
    assert ca.err("SET", k("zz"), "new") == ask
    # several keys, some here and some not: TRYAGAIN
    assert ca.err("MGET", k("a"), k("zz")) == "TRYAGAIN Multiple keys request during rehashing of slot"
    # the target: MOVED back without ASKING; ASKING works for one command only
    assert cb.err("GET", k("zz")) == moved(0, a)
    assert cb.call("ASKING") == "OK"
    assert cb.call("GET", k("zz")) is None
    assert cb.err("GET", k("zz")) == moved(0, a)
    assert cb.call("ASKING") == "OK"
    assert cb.call("SET", k("zz"), "new") == "OK"
    assert cb.call("ASKING") == "OK"
    assert cb.err("MGET", k("a"), k("zz")) == "TRYAGAIN Multiple keys request during rehashing of slot"
    # MIGRATE one key, then the KEYS form; NOKEY when nothing was there
    assert ca.call("MIGRATE", HOST, b.port, k("a"), "0", "5000") == "OK"
    assert ca.call("MIGRATE", HOST, b.port, "", "0", "5000", "KEYS", k("b")) == "OK"
    assert ca.call("MIGRATE", HOST, b.port, "", "0", "5000", "KEYS", k("b")) == "NOKEY"
    assert ca.call("CLUSTER", "COUNTKEYSINSLOT", "0") == 0
    assert cb.call("CLUSTER", "COUNTKEYSINSLOT", "0") == 3
    assert sorted(cb.call("CLUSTER", "GETKEYSINSLOT", "0", "10")) == sorted(
        [k("a").encode(), k("b").encode(), k("zz").encode()])
    # everything gone from the source: every key gets ASK
    assert ca.err("GET", k("a")) == ask
    assert ca.err("EXISTS", k("a")) == ask
    assert ca.err("MGET", k("a"), k("zz")) == ask
    assert cb.call("ASKING") == "OK"
    assert cb.call("MGET", k("a"), k("zz")) == [b"1", b"new"]
    # finish: the target first, then the source
    assert cb.call("CLUSTER", "SETSLOT", "0", "NODE", b.myid()) == "OK"
    assert ca.call("CLUSTER", "SETSLOT", "0", "NODE", b.myid()) == "OK"
    assert ca.err("GET", k("a")) == moved(0, b)
    assert cb.call("GET", k("a")) == b"1"
    assert a.me()["open"] == [] and b.me()["open"] == []
    assert a.me()["slots"] == [(1, 8191)]
    assert b.me()["slots"] == [(0, 0), (8192, 16383)]
    # the change reaches everyone (b bumped its epoch when it took the slot)
    cl.wait_ok()
    assert cl.owner(0, via=a) is b


def test_clusterdown_full_coverage(make_cluster):
    n = make_cluster().add_node()
    c = n.client()
    assert c.call("CLUSTER", "ADDSLOTSRANGE", "0", "16382") == "OK"
    covered, uncovered = key_for_slot(0, "down"), key_for_slot(16383, "down")
    assert n.cluster_info()["cluster_state"] == "fail"
    assert c.err("GET", covered) == "CLUSTERDOWN The cluster is down"
    assert c.err("SET", covered, "1") == "CLUSTERDOWN The cluster is down"
    assert c.err("GET", uncovered) == "CLUSTERDOWN Hash slot not served"
    assert c.err("EVAL", "return 1", "1", covered) == "CLUSTERDOWN The cluster is down"
    assert c.call("MULTI") == "OK"
    assert c.err("GET", covered) == "CLUSTERDOWN The cluster is down"
    assert c.err("EXEC") == EXECABORT
    # commands without keys still work
    assert c.call("PING") == "PONG"
    assert c.call("DBSIZE") == 0
    assert c.call("EVAL", "return 1", "0") == 1
    # cluster-allow-reads-when-down: reads are served, writes refused
    assert c.call("CONFIG", "SET", "cluster-allow-reads-when-down", "yes") == "OK"
    assert c.call("GET", covered) is None
    assert c.err("SET", covered, "1") == "CLUSTERDOWN The cluster is down and only accepts read commands"
    assert c.err("GET", uncovered) == "CLUSTERDOWN Hash slot not served"
    assert c.call("EVAL_RO", "return redis.call('get', KEYS[1])", "1", covered) is None
    sha = c.call("SCRIPT", "LOAD", "return redis.call('set', KEYS[1], 1)").decode()
    assert c.err("EVALSHA", sha, "1", covered) == (
        "ERR Script attempted to execute a write command while the cluster is down and readonly script: "
        "%s, on @user_script:1." % sha)
    assert c.call("MULTI") == "OK"
    assert c.call("GET", covered) == "QUEUED"
    assert c.err("SET", covered, "1") == "CLUSTERDOWN The cluster is down and only accepts read commands"
    assert c.err("EXEC") == EXECABORT
    assert c.call("CONFIG", "SET", "cluster-allow-reads-when-down", "no") == "OK"
    # full coverage: ok (once the 2 s start-up delay of a master is over)
    assert c.call("CLUSTER", "ADDSLOTS", "16383") == "OK"
    wait_until(lambda: n.cluster_info()["cluster_state"] == "ok", 10, 0.05)
    assert c.call("SET", covered, "1") == "OK"
    assert c.call("GET", uncovered) is None


def test_clusterdown_without_full_coverage(make_cluster):
    n = make_cluster().add_node(extra="cluster-require-full-coverage no\n")
    c = n.client()
    assert c.call("CLUSTER", "ADDSLOTSRANGE", "0", "16382") == "OK"
    wait_until(lambda: n.cluster_info()["cluster_state"] == "ok", 10, 0.05)
    info = n.cluster_info()
    assert (info["cluster_slots_assigned"], info["cluster_slots_ok"], info["cluster_size"]) == ("16383", "16383", "1")
    covered, uncovered = key_for_slot(0, "nfc"), key_for_slot(16383, "nfc")
    assert c.call("SET", covered, "1") == "OK"
    assert c.err("GET", uncovered) == "CLUSTERDOWN Hash slot not served"
    assert c.err("SET", uncovered, "1") == "CLUSTERDOWN Hash slot not served"


def test_hostnames_and_endpoint_types(make_cluster):
    cl = make_cluster()
    a = cl.add_node(extra="cluster-announce-hostname host-a.example\n")
    b = cl.add_node(extra="cluster-announce-hostname host-b.example\ncluster-preferred-endpoint-type hostname\n")
    assert a.call("CLUSTER", "ADDSLOTSRANGE", "0", "8191") == "OK"
    assert b.call("CLUSTER", "ADDSLOTSRANGE", "8192", "16383") == "OK"
    assert a.call("CLUSTER", "MEET", HOST, b.port) == "OK"
    wait_until(lambda: all(x["hostname"] for n in (a, b) for x in n.nodes()), 10, 0.05, msg="hostnames known")
    cl.wait_ok([a, b])
    ida, idb = a.myid().encode(), b.myid().encode()
    # NODES: ip:port@cport,hostname (nodes.conf too)
    for n in (a, b):
        for x in n.nodes():
            who = a if x["id"] == a.myid() else b
            assert "%s:%d@%d,host-%s.example" % (HOST, who.port, who.port + 10000, "a" if who is a else "b") in x["line"]
    assert call(a, "CLUSTER", "SAVECONFIG") == "OK"
    assert "%s:%d@%d,host-a.example myself,master" % (HOST, a.port, a.port + 10000) in a.read_nodes_conf()
    # endpoint type ip (a): [ip, port, id, {hostname}]; SHARDS adds "hostname" after "endpoint"
    ca = a.client()
    assert ca.call("CLUSTER", "SLOTS") == [
        [0, 8191, [HOST.encode(), a.port, ida, [b"hostname", b"host-a.example"]]],
        [8192, 16383, [HOST.encode(), b.port, idb, [b"hostname", b"host-b.example"]]]]
    assert ca.err("GET", key_for_slot(9000, "h")) == moved(9000, b)
    shards = {tuple(s[1]): s[3][0] for s in ca.call("CLUSTER", "SHARDS")}
    assert shards[(0, 8191)] == [b"id", ida, b"port", a.port, b"ip", HOST.encode(), b"endpoint", HOST.encode(),
                                 b"hostname", b"host-a.example", b"role", b"master", b"replication-offset", 0,
                                 b"health", b"online"]
    ca.call("HELLO", "3")
    assert ca.call("CLUSTER", "SLOTS")[0][2] == [HOST.encode(), a.port, ida, {b"hostname": b"host-a.example"}]
    # endpoint type hostname (b): the hostname first, the ip in the metadata; MOVED uses the hostname
    cb = b.client()
    assert cb.call("CLUSTER", "SLOTS") == [
        [0, 8191, [b"host-a.example", a.port, ida, [b"ip", HOST.encode()]]],
        [8192, 16383, [b"host-b.example", b.port, idb, [b"ip", HOST.encode()]]]]
    assert cb.err("GET", key_for_slot(0, "h")) == "MOVED 0 host-a.example:%d" % a.port
    shards = {tuple(s[1]): s[3][0] for s in cb.call("CLUSTER", "SHARDS")}
    assert shards[(0, 8191)][6:10] == [b"endpoint", b"host-a.example", b"hostname", b"host-a.example"]
    # unknown-endpoint: a NULL endpoint, both in the metadata; MOVED with an empty host
    assert cb.call("CONFIG", "SET", "cluster-preferred-endpoint-type", "unknown-endpoint") == "OK"
    assert cb.call("CLUSTER", "SLOTS")[0] == [
        0, 8191, [None, a.port, ida, [b"ip", HOST.encode(), b"hostname", b"host-a.example"]]]
    assert cb.err("GET", key_for_slot(0, "h")) == "MOVED 0 :%d" % a.port


def test_cluster_port_and_meet_with_bus_port(make_cluster):
    from helpers import free_port

    cl = make_cluster()
    a = cl.add_node()
    bus = free_port()
    b = cl.add_node(extra="cluster-port %d\n" % bus)
    assert b.me()["cport"] == bus
    assert a.call("CLUSTER", "ADDSLOTSRANGE", "0", "8191") == "OK"
    assert b.call("CLUSTER", "ADDSLOTSRANGE", "8192", "16383") == "OK"
    assert a.call("CLUSTER", "MEET", HOST, b.port, bus) == "OK"
    view = cl.wait_ok([a, b])
    assert view[b.myid()][0] == "%s:%d@%d" % (HOST, b.port, bus)
    assert view[a.myid()][0] == "%s:%d@%d" % (HOST, a.port, a.port + 10000)
    assert call(b, "CONFIG", "GET", "cluster-port") == [b"cluster-port", str(bus).encode()]
    assert call(a, "CONFIG", "GET", "cluster-port") == [b"cluster-port", b"0"]  # 0: port + 10000


def test_replica_with_offset_zero_is_left_out_of_slots(make_cluster):
    # no replication PING from the masters during the test: offsets stay 0 until a write
    cl = make_cluster(extra="repl-ping-replica-period 60\n")
    (a, b), (ra, rb) = cl.create_by_hand(2, 1)
    c = a.client()
    slots = c.call("CLUSTER", "SLOTS")
    assert [len(s) for s in slots] == [3, 3]  # masters only
    nodes = shard_nodes(c.call("CLUSTER", "SHARDS"))
    for rng, who, rep in (((0, 8191), a, ra), ((8192, 16383), b, rb)):
        assert [n[1] for n in nodes[rng]] == [who.myid().encode(), rep.myid().encode()]
        assert nodes[rng][1][11:] == [0, b"health", b"loading"]
        assert nodes[rng][0][13] == b"online"
    # a write moves a's offset: its replica appears
    assert c.call("SET", key_for_slot(0, "off"), "1") == "OK"
    assert c.call("WAIT", "1", "5000") == 1
    wait_until(lambda: [len(s) for s in call(b, "CLUSTER", "SLOTS")] == [4, 3], 10, 0.05)
    slots = call(b, "CLUSTER", "SLOTS")
    assert slots[0][3] == [HOST.encode(), ra.port, ra.myid().encode(), []]
    wait_until(lambda: shard_nodes(call(b, "CLUSTER", "SHARDS"))[(0, 8191)][1][13] == b"online", 10, 0.05)
    # the replica itself uses its own offset
    assert [len(s) for s in call(ra, "CLUSTER", "SLOTS")] == [4, 3]


def test_state_fails_when_a_master_without_replica_dies(make_cluster):
    cl = make_cluster(node_timeout=1000)
    ms, _ = cl.create_by_hand(3)
    m0, m1, m2 = ms
    dead_id = m2.myid()
    key0, key2 = cl.key_on(m0, "fail0"), cl.key_on(m2, "fail2")
    m2.kill()

    def failed(n):
        info = n.cluster_info()
        return info["cluster_state"] == "fail" and info["cluster_slots_fail"] == "5461"

    wait_until(lambda: failed(m0) and failed(m1), 20, 0.05, msg="the survivors see the cluster down")
    info = m0.cluster_info()
    assert (info["cluster_slots_ok"], info["cluster_slots_pfail"], info["cluster_size"]) == ("10923", "0", "3")
    dead = [x for x in m0.nodes() if x["id"] == dead_id][0]
    assert dead["flags"] == ["master", "fail"] and dead["link"] == "disconnected"
    assert dead["slots"] == [(10923, 16383)] and dead["ping_sent"] > 0
    # the other master's report stays (reports are refreshed by gossip while it is failed)
    wait_until(lambda: m0.call("CLUSTER", "COUNT-FAILURE-REPORTS", dead_id) == 1, 10, 0.05)
    wait_until(lambda: m1.call("CLUSTER", "COUNT-FAILURE-REPORTS", dead_id) == 1, 10, 0.05)
    c = m0.client()
    assert c.err("GET", key0) == "CLUSTERDOWN The cluster is down"
    assert c.err("GET", key2) == "CLUSTERDOWN The cluster is down"
    # SLOTS still lists the failed master's range
    assert [s[:2] for s in c.call("CLUSTER", "SLOTS")] == [[0, 5460], [5461, 10922], [10923, 16383]]
    assert [s[2][1] for s in c.call("CLUSTER", "SLOTS")] == [m0.port, m1.port, m2.port]


# ---------------------------------------------------------------------------
# 5. failover (long tests)
# ---------------------------------------------------------------------------


def write_keys(node, tag, n, value="v"):
    c = node.client()
    keys = ["{%s}%d" % (tag, i) for i in range(n)]
    for k in keys:
        assert c.call("SET", k, value) == "OK"
    assert c.call("WAIT", "1", "5000") == 1
    c.close()
    return keys


def test_failover_kill_master(make_cluster):
    cl = make_cluster()
    cl.create_with_cli(3, 1)
    m0 = cl.masters()[0]
    r0 = cl.replicas_of(m0)[0]
    old_id = m0.myid()
    tag = cl.key_on(m0, "kill")
    keys = write_keys(m0, tag, 20)
    survivors = [n for n in cl.nodes if n is not m0]
    m0.kill()
    wait_until(lambda: r0.role() == "master", 20, 0.05, msg="replica promoted")
    view = cl.wait_ok(survivors, timeout=20)
    # the promoted replica owns the slots with a new, larger config epoch
    me = r0.me()
    assert me["flags"] == ["myself", "master"] and me["slots"] == [(0, 5460)]
    info = r0.cluster_info()
    assert int(info["cluster_my_epoch"]) == int(info["cluster_current_epoch"]) > 6
    assert view[old_id][1:] == ("master", "-", ())
    old = [x for x in r0.nodes() if x["id"] == old_id][0]
    assert old["flags"] == ["master", "fail"] and old["link"] == "disconnected"
    rc = r0.client()
    assert rc.call("MGET", *keys) == [b"v"] * len(keys)
    assert rc.call("SET", keys[0], "after") == "OK"
    assert cl.masters()[1].client().err("GET", keys[0]) == moved(keyslot(keys[0]), r0)
    # the old master comes back as a replica of the new one and gets the new data
    m0.start(port=m0.port)
    cl.wait_ok(timeout=20)
    assert m0.myid(refresh=True) == old_id
    assert m0.me()["flags"] == ["myself", "slave"] and m0.me()["master"] == r0.myid()
    assert parse_info(call(m0, "INFO", "replication"))[1]["master_port"] == str(r0.port)
    mc = m0.client()
    assert mc.call("READONLY") == "OK"
    wait_until(lambda: mc.call("GET", keys[0]) == b"after", 10, 0.05)


def test_failover_sigstop_master_rejoins_as_replica(make_cluster):
    cl = make_cluster()
    cl.create_with_cli(3, 1)
    m1 = cl.masters()[1]
    r1 = cl.replicas_of(m1)[0]
    keys = write_keys(m1, cl.key_on(m1, "stop"), 10)
    others = [n for n in cl.nodes if n is not m1]
    os.kill(m1.proc.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: r1.role() == "master", 20, 0.05, msg="replica promoted while the master is stopped")
        cl.wait_ok(others, timeout=20)
    finally:
        os.kill(m1.proc.pid, signal.SIGCONT)
    # the old master learns it lost its slots and turns into a replica of the new master
    view = cl.wait_ok(timeout=20)
    assert view[m1.myid()][1:3] == ("slave", r1.myid())
    assert view[r1.myid()][1:] == ("master", "-", ((5461, 10922),))
    assert m1.role() == "slave"
    assert call(r1, "MGET", *keys) == [b"v"] * len(keys)
    c = m1.client()
    assert c.err("GET", keys[0]) == moved(keyslot(keys[0]), r1)


def test_failover_manual_no_write_lost(make_cluster):
    cl = make_cluster()
    cl.create_with_cli(3, 1)
    m0 = cl.masters()[0]
    r0 = cl.replicas_of(m0)[0]
    tag = cl.key_on(m0, "man")
    acked = []
    stop = threading.Event()
    errors = []

    def writer():
        target = m0
        c = Client(target.port, timeout=20)
        i = 0
        while not stop.is_set():
            key = "{%s}%d" % (tag, i)
            try:
                rep = c.call("SET", key, str(i))
            except RespError as e:
                if e.msg.startswith("MOVED "):
                    c.close()
                    port = int(e.msg.rsplit(":", 1)[1])
                    c = Client(port, timeout=20)
                    continue  # retry the same key on the new master
                errors.append(e.msg)
                return
            assert rep == "OK"
            acked.append(key)
            i += 1
        c.close()

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    wait_until(lambda: len(acked) > 50, 10, 0.01)
    assert call(r0, "CLUSTER", "FAILOVER") == "OK"
    wait_until(lambda: r0.role() == "master" and m0.role() == "slave", 20, 0.05, msg="roles swapped")
    n_at_switch = len(acked)
    wait_until(lambda: len(acked) > n_at_switch + 50, 10, 0.01, msg="writes continue on the new master")
    stop.set()
    t.join(10)
    assert errors == []
    view = cl.wait_ok(timeout=20)
    assert view[r0.myid()][1:] == ("master", "-", ((0, 5460),))
    assert view[m0.myid()][1:3] == ("slave", r0.myid())
    # every acknowledged write is on the new master (a manual failover loses nothing)
    got = call(r0, "MGET", *acked)
    assert [g.decode() for g in got] == [k.split("}", 1)[1] for k in acked]
    info = r0.cluster_info()
    assert int(info["cluster_my_epoch"]) == int(info["cluster_current_epoch"]) > 6


def test_failover_force_and_takeover(make_cluster):
    cl = make_cluster()
    cl.create_with_cli(3, 1)
    m0, m1 = cl.masters()[:2]
    r0, r1 = cl.replicas_of(m0)[0], cl.replicas_of(m1)[0]
    keys0 = write_keys(m0, cl.key_on(m0, "force"), 5)
    # no automatic failover for r0; its master dies
    assert call(r0, "CONFIG", "SET", "cluster-replica-no-failover", "yes") == "OK"
    survivors = [n for n in cl.nodes if n is not m0]
    m0.kill()
    wait_until(lambda: [x for x in m1.nodes() if x["id"] == m0.myid()][0]["flags"] == ["master", "fail"],
               20, 0.05, msg="m0 flagged fail")
    assert m1.cluster_info()["cluster_state"] == "fail"
    assert r0.role() == "slave"
    assert r0.err("CLUSTER", "FAILOVER") == "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"
    assert call(r0, "CLUSTER", "FAILOVER", "FORCE") == "OK"
    wait_until(lambda: r0.role() == "master", 20, 0.05, msg="FORCE promoted r0")
    cl.wait_ok(survivors, timeout=20)
    assert call(r0, "MGET", *keys0) == [b"v"] * len(keys0)
    # TAKEOVER: no election at all, the replica bumps the epoch itself
    epoch_before = int(m1.cluster_info()["cluster_current_epoch"])
    keys1 = write_keys(m1, cl.key_on(m1, "take"), 5)
    assert call(r1, "CLUSTER", "FAILOVER", "TAKEOVER") == "OK"
    wait_until(lambda: r1.role() == "master" and m1.role() == "slave", 20, 0.05, msg="TAKEOVER swapped roles")
    view = cl.wait_ok(survivors, timeout=20)
    assert view[r1.myid()][1:] == ("master", "-", ((5461, 10922),))
    assert view[m1.myid()][1:3] == ("slave", r1.myid())
    info = r1.cluster_info()
    assert int(info["cluster_my_epoch"]) == int(info["cluster_current_epoch"]) == epoch_before + 1
    assert call(r1, "MGET", *keys1) == [b"v"] * len(keys1)


def test_failover_restart_keeps_nodes_conf(make_cluster):
    # a longer node timeout: a restarted master must not be failed over meanwhile
    cl = make_cluster(node_timeout=5000)
    cl.create_with_cli(3, 1)
    m0 = cl.masters()[0]
    r0 = cl.replicas_of(m0)[0]
    # one failover first, so that the epochs and the votes are not all trivial
    assert call(r0, "CLUSTER", "FAILOVER") == "OK"
    wait_until(lambda: r0.role() == "master" and m0.role() == "slave", 20, 0.05)
    cl.wait_ok(timeout=20)
    before = {}
    for n in cl.nodes:
        assert call(n, "CLUSTER", "SAVECONFIG") == "OK"
        before[n.port] = (n.myid(), n.me()["flags"], n.me()["master"], n.cluster_info()["cluster_current_epoch"],
                          n.cluster_info()["cluster_my_epoch"])
    # nodes.conf: NODES-style lines (myself included, no handshake nodes), then the vars line
    text = r0.read_nodes_conf()
    lines = text.split("\n")
    assert lines[-1] == "" and lines[-2].startswith("vars ")
    m = re.match(r"^vars currentEpoch (\d+) lastVoteEpoch (\d+)$", lines[-2])
    assert m and m.group(1) == before[r0.port][3]
    parsed = parse_nodes("\n".join(lines[:-2]))
    assert len(parsed) == 6 and [x["id"] for x in parsed if "myself" in x["flags"]] == [r0.myid()]
    # the masters voted for r0 in the election: lastVoteEpoch is that epoch there
    votes = [re.match(r"^vars currentEpoch (\d+) lastVoteEpoch (\d+)$", n.read_nodes_conf().split("\n")[-2])
             for n in cl.masters()]
    assert any(v.group(2) == before[r0.port][4] for v in votes)
    # restart every node, one at a time: same id, role, master and epochs
    for n in list(cl.nodes):
        n.restart()
        assert n.myid(refresh=True) == before[n.port][0]
        info = n.cluster_info()
        me = n.me()
        assert (me["flags"], me["master"]) == (before[n.port][1], before[n.port][2])
        assert (info["cluster_current_epoch"], info["cluster_my_epoch"]) == before[n.port][3:]
        cl.wait_ok(timeout=20)
