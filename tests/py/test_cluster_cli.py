"""``redis-cli --cluster`` (the redis-cli found on PATH, 7.0.15 here) against REDUST_SERVER
cluster nodes: create, add-node, del-node, check, info, reshard, rebalance, fix,
set-timeout, call, import. redis-cli colours its output even into a pipe; the colour
codes are stripped (``res.out``). Every expected output was read from Redis 7.0.15.

Prompts that --cluster-yes does not answer (fix's "Fix these slots by covering with a
random node?") get "yes" on stdin; every other stdin is empty, so an unexpected prompt
reads EOF and the command does nothing.

WHAT redis-cli SENDS (seen with strace on 7.0.15), which the server must answer as Redis:
* Every subcommand starts by loading the cluster from the entry node: INFO (needs
  "cluster_enabled:1", else "[ERR] Node <addr> is not configured as a cluster node."),
  CLUSTER NODES (parses every line, the "myself" flag, slots, [open slots]), then
  CLUSTER NODES on every other node; "All nodes agree" compares each node's view of who
  owns which slots; open slots come from the [..->-..] / [..-<-..] markers.
* create: per node INFO, CLUSTER NODES, INFO, CLUSTER INFO (empty = cluster_known_nodes:1
  and no keys in db0, else "[ERR] Node <addr> is not empty. Either the node already knows
  other nodes (check with CLUSTER NODES) or contains some key in database 0."); masters:
  one CLUSTER ADDSLOTS <every slot> (5461 arguments, not ADDSLOTSRANGE); replicas:
  CLUSTER REPLICATE <master> (fails with "ERR Unknown node" before the MEET and is
  ignored); "cluster set-config-epoch <1..N>" (lower case) on every node in order;
  "cluster meet 127.0.0.1 <first port>" on every other node (no bus port argument when
  the bus port is port + 10000); CLUSTER NODES on every node once a second until all
  agree; CLUSTER REPLICATE <master id> on the replicas again; then the check. The first
  3 addresses become the masters; config epochs 1..N; currentEpoch N everywhere.
* add-node: the check, FUNCTION DUMP on the entry node, FUNCTION LIST on the new node
  (must be empty), FUNCTION RESTORE <payload> on it, CLUSTER MEET <entry ip> <entry
  port>; with --cluster-slave: waits for the join, then CLUSTER REPLICATE <master id>.
* del-node: CLUSTER FORGET <id> on every other node, CLUSTER RESET SOFT on the node
  (7.0 no longer shuts it down).
* reshard / rebalance, per slot: dest CLUSTER SETSLOT <s> importing <src id>; src
  CLUSTER SETSLOT <s> migrating <dst id>; loop src CLUSTER GETKEYSINSLOT <s> 10 and
  src MIGRATE <ip> <port> "" 0 60000 KEYS k1..k10 until empty; then CLUSTER SETSLOT <s>
  node <dst id> on the destination, the source, then every other master.
* fix: CLUSTER COUNTKEYSINSLOT on every master for an open slot, then CLUSTER SETSLOT <s>
  STABLE (or a migration); an uncovered empty slot: ADDSLOTS on one master (then its
  epoch is bumped).
* set-timeout: CONFIG SET cluster-node-timeout <ms> and CONFIG REWRITE on every node.
* call: the command on every node; error replies printed as "<addr>: <text>" + newline.
* import: source INFO (must not be a cluster node), DBSIZE, SCAN 0 COUNT 1000, then per
  key MIGRATE <owner ip> <owner port> <key> 0 60000 [COPY] [REPLACE] on the source.
"""

import os
import re
import shutil

import pytest

from cluster_helpers import (
    CHECK_OK,
    Cluster,
    cli_cluster,
    cli_ok,
    in_order,
    key_for_slot,
    keyslot,
    parse_ranges,
)
from helpers import HOST, REDIS_CLI, SERVER_BIN, Client, Server, parse_info, wait_until

pytestmark = pytest.mark.skipif(not (os.path.exists(REDIS_CLI) or shutil.which(REDIS_CLI)),
                                reason="redis-cli not installed")





@pytest.fixture
def standalone():
    made = []

    def make():
        s = Server()
        made.append(s)
        s.start()
        return s

    yield make
    for s in made:
        s.cleanup()


def lines_of(res):
    return res.out.split("\n")


def failed(res):
    assert res.returncode == 1, "rc=%s\n%s\n%s" % (res.returncode, res.out, res.stderr)
    return res


def node_summary(node):
    """The two lines redis-cli prints for a master: M: <id> <addr> / slots:[a-b],... (n slots) master."""
    me = node.me()
    ranges = ",".join("[%d-%d]" % (a, b) if a != b else "[%d]" % a for a, b in me["slots"])
    count = sum(b - a + 1 for a, b in me["slots"])
    return ["M: %s %s" % (node.myid(), node.addr()), "   slots:%s (%d slots) master" % (ranges, count)]


def three_masters(make_cluster):
    cl = make_cluster()
    cl.create_with_cli(3)
    return cl, cl.masters()


# ---------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------


def test_create_three_masters(make_cluster):
    cl = make_cluster()
    nodes = cl.start_nodes(3)
    res = cli_ok(cli_cluster("create", *[n.addr() for n in nodes], "--cluster-yes"))
    lines = lines_of(res)
    head = [
        ">>> Performing hash slots allocation on 3 nodes...",
        "Master[0] -> Slots 0 - 5460",
        "Master[1] -> Slots 5461 - 10922",
        "Master[2] -> Slots 10923 - 16383",
        "M: %s %s" % (nodes[0].myid(), nodes[0].addr()),
        "   slots:[0-5460] (5461 slots) master",
        "M: %s %s" % (nodes[1].myid(), nodes[1].addr()),
        "   slots:[5461-10922] (5462 slots) master",
        "M: %s %s" % (nodes[2].myid(), nodes[2].addr()),
        "   slots:[10923-16383] (5461 slots) master",
        ">>> Nodes configuration updated",
        ">>> Assign a different config epoch to each node",
        ">>> Sending CLUSTER MEET messages to join the cluster",
        "Waiting for the cluster to join",
    ]
    assert lines[:len(head)] == head
    # then dots while waiting, a blank line, and the check from the first node
    assert in_order(lines, [">>> Performing Cluster Check (using node %s)" % nodes[0].addr()] + CHECK_OK)
    view = cl.wait_ok(nodes)
    for i, n in enumerate(nodes):
        assert view[n.myid()][1:] == ("master", "-", ((0, 5460), (5461, 10922), (10923, 16383))[i:i + 1])
        info = n.cluster_info()
        # CLUSTER SET-CONFIG-EPOCH 1, 2, 3 in the order given
        assert (info["cluster_my_epoch"], info["cluster_current_epoch"]) == (str(i + 1), "3")
        assert (info["cluster_state"], info["cluster_known_nodes"], info["cluster_size"]) == ("ok", "3", "3")
    # check (and info) agree
    res = cli_ok(cli_cluster("check", nodes[1].addr()))
    assert in_order(lines_of(res), [">>> Performing Cluster Check (using node %s)" % nodes[1].addr()] + CHECK_OK)


def test_create_with_replicas(make_cluster):
    cl = make_cluster()
    nodes = cl.start_nodes(6)
    res = cli_ok(cli_cluster("create", *[n.addr() for n in nodes], "--cluster-replicas", "1", "--cluster-yes"))
    lines = lines_of(res)
    assert lines[:4] == [
        ">>> Performing hash slots allocation on 6 nodes...",
        "Master[0] -> Slots 0 - 5460",
        "Master[1] -> Slots 5461 - 10922",
        "Master[2] -> Slots 10923 - 16383",
    ]
    adding = [line for line in lines if line.startswith("Adding replica ")]
    assert len(adding) == 3
    for line in adding:
        assert re.match(r"^Adding replica 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+$", line), line
    # every node on one host: the anti-affinity pass warns
    assert in_order(lines, [">>> Trying to optimize slaves allocation for anti-affinity",
                            "[WARNING] Some slaves are in the same host as their master"])
    # the plan printed before applying it: S: <id> <addr> / replicates <master id>
    plan = lines[:lines.index(">>> Nodes configuration updated")]
    planned = {}
    for i, line in enumerate(plan):
        m = re.match(r"^S: ([0-9a-f]{40}) 127\.0\.0\.1:(\d+)$", line)
        if m:
            r = re.match(r"^   replicates ([0-9a-f]{40})$", plan[i + 1])
            assert r, plan[i + 1]
            planned[m.group(1)] = r.group(1)
    assert len(planned) == 3
    masters = {n.myid() for n in nodes[:3]}  # the first three addresses become the masters
    assert set(planned.values()) == masters and set(planned) == {n.myid() for n in nodes[3:]}
    assert in_order(lines, [">>> Nodes configuration updated", ">>> Assign a different config epoch to each node",
                            ">>> Sending CLUSTER MEET messages to join the cluster",
                            "Waiting for the cluster to join",
                            ">>> Performing Cluster Check (using node %s)" % nodes[0].addr()] + CHECK_OK)
    # the check lists each master with "1 additional replica(s)", each replica as S: with 0 slots
    check = lines[lines.index(">>> Performing Cluster Check (using node %s)" % nodes[0].addr()):]
    assert check.count("   1 additional replica(s)") == 3
    assert check.count("   slots: (0 slots) slave") == 3
    view = cl.wait_ok(nodes)
    for rid, mid in planned.items():
        assert view[rid][1:3] == ("slave", mid)
    info = nodes[0].cluster_info()
    assert (info["cluster_known_nodes"], info["cluster_size"], info["cluster_current_epoch"]) == ("6", "3", "6")


def test_create_refusals(make_cluster, standalone):
    cl = make_cluster()
    a, b, c = cl.start_nodes(3)
    res = failed(cli_cluster("create", a.addr(), b.addr(), "--cluster-yes"))
    assert lines_of(res)[:4] == [
        "*** ERROR: Invalid configuration for cluster creation.",
        "*** Redis Cluster requires at least 3 master nodes.",
        "*** This is not possible with 2 nodes and 0 replicas per node.",
        "*** At least 3 nodes are required.",
    ]
    res = failed(cli_cluster("create", a.addr(), b.addr(), c.addr(), "--cluster-replicas", "1", "--cluster-yes"))
    assert lines_of(res)[2:4] == ["*** This is not possible with 3 nodes and 1 replicas per node.",
                                  "*** At least 6 nodes are required."]
    plain = standalone()
    res = failed(cli_cluster("create", a.addr(), b.addr(), "%s:%d" % (HOST, plain.port), "--cluster-yes"))
    assert "[ERR] Node %s:%d is not configured as a cluster node." % (HOST, plain.port) in lines_of(res)
    res = failed(cli_cluster("check", "%s:%d" % (HOST, plain.port)))
    assert "[ERR] Node %s:%d is not configured as a cluster node." % (HOST, plain.port) in lines_of(res)
    # a node that already knows another one is not empty
    assert a.call("CLUSTER", "MEET", HOST, b.port) == "OK"
    wait_until(lambda: a.cluster_info()["cluster_known_nodes"] == "2", 10, 0.05)
    res = failed(cli_cluster("create", a.addr(), b.addr(), c.addr(), "--cluster-yes"))
    assert ("[ERR] Node %s is not empty. Either the node already knows other nodes (check with CLUSTER NODES) "
            "or contains some key in database 0." % a.addr()) in lines_of(res)
    # nothing was changed on c
    assert c.cluster_info()["cluster_slots_assigned"] == "0"


# ---------------------------------------------------------------------------
# add-node / del-node
# ---------------------------------------------------------------------------


def test_add_node_as_master_copies_functions(make_cluster):
    cl, (m0, m1, m2) = three_masters(make_cluster)
    lib = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)"
    for m in (m0, m1, m2):
        assert m.call("FUNCTION", "LOAD", lib) == b"mylib"
    new = cl.add_node()
    res = cli_ok(cli_cluster("add-node", new.addr(), m0.addr()))
    lines = lines_of(res)
    assert lines[0] == ">>> Adding node %s to cluster %s" % (new.addr(), m0.addr())
    assert in_order(lines, [">>> Performing Cluster Check (using node %s)" % m0.addr()] + CHECK_OK + [
        ">>> Getting functions from cluster",
        ">>> Send FUNCTION LIST to %s to verify there is no functions in it" % new.addr(),
        ">>> Send FUNCTION RESTORE to %s" % new.addr(),
        ">>> Send CLUSTER MEET to node %s to make it join the cluster." % new.addr(),
        "[OK] New node added correctly."])
    view = cl.wait_ok()
    assert view[new.myid()][1:] == ("master", "-", ())
    assert new.cluster_info()["cluster_known_nodes"] == "4"
    # the functions were copied with FUNCTION DUMP / RESTORE
    assert new.call("FUNCTION", "LIST")[0][:2] == [b"library_name", b"mylib"]
    # refused: a new node with functions, a new node that knows another node
    other = cl.add_node()
    assert other.call("FUNCTION", "LOAD", lib) == b"mylib"
    res = failed(cli_cluster("add-node", other.addr(), m0.addr()))
    assert in_order(lines_of(res), [
        ">>> Send FUNCTION LIST to %s to verify there is no functions in it" % other.addr(),
        ">>> New node already contains functions and can not be added to the cluster. Use FUNCTION FLUSH and try again."])
    assert other.cluster_info()["cluster_known_nodes"] == "1"
    a, b = cl.add_node(), cl.add_node()
    assert a.call("CLUSTER", "MEET", HOST, b.port) == "OK"
    wait_until(lambda: a.cluster_info()["cluster_known_nodes"] == "2", 10, 0.05)
    res = failed(cli_cluster("add-node", a.addr(), m0.addr()))
    assert ("[ERR] Node %s is not empty. Either the node already knows other nodes (check with CLUSTER NODES) "
            "or contains some key in database 0." % a.addr()) in lines_of(res)


def test_add_node_as_replica(make_cluster):
    cl, (m0, m1, m2) = three_masters(make_cluster)
    # without --cluster-master-id: the master with the fewest replicas is picked
    r = cl.add_node()
    res = cli_ok(cli_cluster("add-node", r.addr(), m0.addr(), "--cluster-slave"))
    lines = lines_of(res)
    picked = [line for line in lines if line.startswith("Automatically selected master ")]
    assert len(picked) == 1
    chosen = cl.by_port(picked[0].rsplit(":", 1)[1])
    assert chosen in (m0, m1, m2)
    assert in_order(lines, [
        ">>> Adding node %s to cluster %s" % (r.addr(), m0.addr()),
        "Automatically selected master %s" % chosen.addr(),
        ">>> Send CLUSTER MEET to node %s to make it join the cluster." % r.addr(),
        "Waiting for the cluster to join",
        ">>> Configure node as replica of %s." % chosen.addr(),
        "[OK] New node added correctly."])
    view = cl.wait_ok()
    assert view[r.myid()][1:] == ("slave", chosen.myid(), ())
    # with --cluster-master-id
    target = [m for m in (m0, m1, m2) if m is not chosen][0]
    r2 = cl.add_node()
    res = cli_ok(cli_cluster("add-node", r2.addr(), m0.addr(), "--cluster-slave", "--cluster-master-id", target.myid()))
    lines = lines_of(res)
    assert not any(line.startswith("Automatically selected master") for line in lines)
    assert in_order(lines, [">>> Configure node as replica of %s." % target.addr(), "[OK] New node added correctly."])
    view = cl.wait_ok()
    assert view[r2.myid()][1:] == ("slave", target.myid(), ())
    assert r2.role() == "slave"
    assert parse_info(r2.call("INFO", "replication"))[1]["master_port"] == str(target.port)
    r3 = cl.add_node()
    res = failed(cli_cluster("add-node", r3.addr(), m0.addr(), "--cluster-slave", "--cluster-master-id", "0" * 40))
    assert "[ERR] No such master ID %s" % ("0" * 40) in lines_of(res)
    # the cluster check shows the replica under its master
    res = cli_ok(cli_cluster("check", m0.addr()))
    assert "S: %s %s" % (r2.myid(), r2.addr()) in lines_of(res)
    assert "   replicates %s" % target.myid() in lines_of(res)


def test_del_node(make_cluster):
    cl, (m0, m1, m2) = three_masters(make_cluster)
    r = cl.add_node()
    cli_ok(cli_cluster("add-node", r.addr(), m0.addr(), "--cluster-slave", "--cluster-master-id", m1.myid()))
    cl.wait_ok()
    rid = r.myid()
    res = cli_ok(cli_cluster("del-node", m0.addr(), rid))
    assert lines_of(res)[:3] == [
        ">>> Removing node %s from cluster %s" % (rid, m0.addr()),
        ">>> Sending CLUSTER FORGET messages to the cluster...",
        ">>> Sending CLUSTER RESET SOFT to the deleted node.",
    ]
    # everyone forgot it; the node itself was reset (same id, alone, master, no slots)
    for m in (m0, m1, m2):
        assert rid not in {x["id"] for x in m.nodes()}
    assert r.is_alive()
    assert r.nodes() == [r.me()] and r.me()["flags"] == ["myself", "master"] and r.myid(refresh=True) == rid
    cl.nodes.remove(r)
    r.cleanup()
    cl.wait_ok()
    assert m1.cluster_info()["cluster_known_nodes"] == "3"
    # errors: a master with slots, an unknown id
    res = failed(cli_cluster("del-node", m0.addr(), m1.myid()))
    assert lines_of(res)[:2] == [">>> Removing node %s from cluster %s" % (m1.myid(), m0.addr()),
                                 "[ERR] Node %s is not empty! Reshard data away and try again." % m1.addr()]
    res = failed(cli_cluster("del-node", m0.addr(), "0" * 40))
    assert lines_of(res)[1] == "[ERR] No such node ID %s" % ("0" * 40)


# ---------------------------------------------------------------------------
# check / info / fix
# ---------------------------------------------------------------------------


def test_check_info_and_fix(make_cluster):
    cl, masters = three_masters(make_cluster)
    m0, m1, m2 = masters
    counts = {}
    for i in range(60):
        key = "ck:%d" % i
        owner = cl.owner(keyslot(key))
        assert owner.call("SET", key, "v") == "OK"
        counts[owner.port] = counts.get(owner.port, 0) + 1
    res = cli_ok(cli_cluster("info", m0.addr()))
    lines = lines_of(res)
    # one line per master (the entry node first), then the totals
    per_master = []
    for m in masters:
        slots = sum(b - a + 1 for a, b in m.me()["slots"])
        per_master.append("%s (%s...) -> %d keys | %d slots | 0 slaves." % (
            m.addr(), m.myid()[:8], counts.get(m.port, 0), slots))
    assert lines[0] == per_master[0]
    assert sorted(lines[:3]) == sorted(per_master)
    assert lines[3:5] == ["[OK] 60 keys in 3 masters.", "0.00 keys per slot on average."]
    res = cli_ok(cli_cluster("check", m0.addr()))
    lines = lines_of(res)
    assert sorted(lines[:3]) == sorted(per_master) and lines[3:5] == ["[OK] 60 keys in 3 masters.",
                                                                     "0.00 keys per slot on average."]
    assert in_order(lines, [">>> Performing Cluster Check (using node %s)" % m0.addr()] + node_summary(m0) + CHECK_OK)
    for m in masters:
        assert in_order(lines, node_summary(m))

    # an open slot: check warns and fails, fix closes it
    assert m1.call("CLUSTER", "SETSLOT", "5461", "MIGRATING", m2.myid()) == "OK"
    res = failed(cli_cluster("check", m0.addr()))
    assert in_order(lines_of(res), [
        ">>> Check for open slots...",
        "[WARNING] Node %s has slots in migrating state 5461." % m1.addr(),
        "[WARNING] The following slots are open: 5461.",
        ">>> Check slots coverage...",
        "[OK] All 16384 slots covered."])
    res = cli_ok(cli_cluster("fix", m0.addr(), "--cluster-yes"))
    assert ">>> Fixing open slot 5461" in lines_of(res)
    wait_until(lambda: m1.me()["open"] == [], 10, 0.05)
    cli_ok(cli_cluster("check", m0.addr()))

    # an uncovered slot (removed on every node): check fails, fix gives it to a master
    for n in cl.nodes:
        assert n.call("CLUSTER", "DELSLOTS", "7000") == "OK"
    res = failed(cli_cluster("check", m0.addr()))
    assert in_order(lines_of(res), ["[OK] All nodes agree about slots configuration.",
                                    ">>> Check slots coverage...",
                                    "[ERR] Not all 16384 slots are covered by nodes."])
    res = cli_ok(cli_cluster("fix", m0.addr(), "--cluster-yes", input="yes\n"))
    lines = lines_of(res)
    assert in_order(lines, [">>> Fixing slots coverage...",
                            "The following uncovered slots have no keys across the cluster:", "[7000]"])
    assert any(re.match(r"^Fix these slots by covering with a random node\? \(type 'yes' to accept\): "
                        r">>> Covering slot 7000 with 127\.0\.0\.1:\d+$", line) for line in lines), lines
    cl.wait_ok()
    assert cl.owner(7000) in masters
    res = cli_ok(cli_cluster("check", m0.addr()))
    assert in_order(lines_of(res), CHECK_OK)


# ---------------------------------------------------------------------------
# reshard / rebalance
# ---------------------------------------------------------------------------


def test_reshard_moves_slots_and_keys(make_cluster):
    cl, (m0, m1, m2) = three_masters(make_cluster)
    tag = key_for_slot(0, "rs")
    keys = ["{%s}%d" % (tag, i) for i in range(12)]
    for k in keys:
        assert m0.call("SET", k, "v") == "OK"
    one = key_for_slot(1, "rs")
    assert m0.call("SET", one, "w") == "OK"
    res = cli_ok(cli_cluster("reshard", m0.addr(), "--cluster-from", m0.myid(), "--cluster-to", m1.myid(),
                         "--cluster-slots", "3", "--cluster-yes"))
    lines = lines_of(res)
    assert in_order(lines, CHECK_OK + [
        "Ready to move 3 slots.",
        "  Source nodes:",
        "    M: %s %s" % (m0.myid(), m0.addr()),
        "       slots:[0-5460] (5461 slots) master",
        "  Destination node:",
        "    M: %s %s" % (m1.myid(), m1.addr()),
        "       slots:[5461-10922] (5462 slots) master",
        "  Resharding plan:",
        "    Moving slot 0 from %s" % m0.myid(),
        "    Moving slot 1 from %s" % m0.myid(),
        "    Moving slot 2 from %s" % m0.myid(),
        # one dot per key moved
        "Moving slot 0 from %s to %s: %s" % (m0.addr(), m1.addr(), "." * 12),
        "Moving slot 1 from %s to %s: ." % (m0.addr(), m1.addr()),
        "Moving slot 2 from %s to %s: " % (m0.addr(), m1.addr())])
    view = cl.wait_ok()
    assert view[m0.myid()][3] == ((3, 5460),)
    assert view[m1.myid()][3] == ((0, 2), (5461, 10922))
    assert m0.call("CLUSTER", "COUNTKEYSINSLOT", "0") == 0
    assert m1.call("CLUSTER", "COUNTKEYSINSLOT", "0") == 12
    assert m1.call("MGET", *keys) == [b"v"] * 12
    assert m1.call("GET", one) == b"w"
    c = Client(m0.port)
    assert c.err("GET", keys[0]) == "MOVED 0 %s" % m1.addr()
    c.close()
    # the owner of the moved slots bumped its epoch: every node agrees
    assert int(m1.cluster_info()["cluster_my_epoch"]) > 3
    # errors
    res = failed(cli_cluster("reshard", m0.addr(), "--cluster-from", m0.myid(), "--cluster-to", m0.myid(),
                             "--cluster-slots", "10", "--cluster-yes"))
    assert "*** It is not possible to use the target node as source node." in lines_of(res)
    # --cluster-from all: from every other master
    cli_ok(cli_cluster("reshard", m0.addr(), "--cluster-from", "all", "--cluster-to", m2.myid(),
                   "--cluster-slots", "10", "--cluster-yes"))
    view = cl.wait_ok()
    assert len(parse_ranges(view[m2.myid()][3])) == 5461 + 10


def test_rebalance_empty_master_and_weights(make_cluster):
    cl, masters = three_masters(make_cluster)
    m0 = masters[0]
    res = cli_ok(cli_cluster("rebalance", m0.addr()))
    assert lines_of(res)[-2] == "*** No rebalancing needed! All nodes are within the 2.00% threshold."
    new = cl.add_node()
    cli_ok(cli_cluster("add-node", new.addr(), m0.addr()))
    cl.wait_ok()
    # an empty master gets nothing without --cluster-use-empty-masters
    res = cli_ok(cli_cluster("rebalance", m0.addr()))
    assert "*** No rebalancing needed! All nodes are within the 2.00% threshold." in lines_of(res)
    res = cli_ok(cli_cluster("rebalance", m0.addr(), "--cluster-use-empty-masters"))
    lines = lines_of(res)
    assert ">>> Rebalancing across 4 nodes. Total weight = 4.00" in lines
    moves = [line for line in lines if line.startswith("Moving ")]
    assert moves and all(re.match(r"^Moving \d+ slots from 127\.0\.0\.1:\d+ to %s$" % re.escape(new.addr()), x)
                         for x in moves)
    view = cl.wait_ok()
    sizes = {nid: len(parse_ranges(v[3])) for nid, v in view.items()}
    assert sorted(sizes.values()) == [4096] * 4
    # weights: m0 counts double -> 2/5 of the slots
    res = cli_ok(cli_cluster("rebalance", m0.addr(), "--cluster-weight", "%s=2" % m0.myid()))
    assert ">>> Rebalancing across 4 nodes. Total weight = 5.00" in lines_of(res)
    view = cl.wait_ok()
    sizes = {nid: len(parse_ranges(v[3])) for nid, v in view.items()}
    assert abs(sizes[m0.myid()] - 16384 * 2 / 5) <= 3
    for nid, size in sizes.items():
        if nid != m0.myid():
            assert abs(size - 16384 / 5) <= 3
    assert sum(sizes.values()) == 16384


# ---------------------------------------------------------------------------
# set-timeout / call / import
# ---------------------------------------------------------------------------


def test_set_timeout_and_call(make_cluster):
    cl, masters = three_masters(make_cluster)
    m0 = masters[0]
    res = cli_ok(cli_cluster("set-timeout", m0.addr(), "3000"))
    lines = lines_of(res)
    assert lines[0] == ">>> Reconfiguring node timeout in every cluster node..."
    assert sorted(lines[1:4]) == sorted("*** New timeout set for %s" % m.addr() for m in masters)
    assert lines[4] == ">>> New node timeout set. 3 OK, 0 ERR."
    for m in masters:
        assert m.call("CONFIG", "GET", "cluster-node-timeout") == [b"cluster-node-timeout", b"3000"]
        # CONFIG REWRITE kept it in the config file
        with open(m.config_path) as f:
            assert "cluster-node-timeout 3000" in f.read().split("\n")
    res = cli_cluster("set-timeout", m0.addr(), "50")
    assert res.returncode == 1
    assert res.stderr.strip() == "Setting a node timeout of less than 100 milliseconds is a bad idea."

    key = "callkey"
    owner = cl.owner(keyslot(key))
    assert owner.call("SET", key, "v") == "OK"
    res = cli_ok(cli_cluster("call", m0.addr(), "GET", key))
    lines = lines_of(res)
    assert lines[0] == ">>> Calling GET %s" % key
    for m in masters:
        if m is owner:
            assert "%s: v" % m.addr() in lines
        else:
            # an error reply is printed with its text and an extra newline
            i = lines.index("%s: MOVED %d %s" % (m.addr(), keyslot(key), owner.addr()))
            assert lines[i + 1] == ""
    res = cli_ok(cli_cluster("call", m0.addr(), "DBSIZE"))
    assert sorted(lines_of(res)[1:4]) == sorted("%s: %d" % (m.addr(), 1 if m is owner else 0) for m in masters)
    res = cli_ok(cli_cluster("call", m0.addr(), "CONFIG", "GET", "cluster-enabled"))
    for m in masters:
        assert in_order(lines_of(res), ["%s: cluster-enabled" % m.addr(), "yes"])


def test_import_from_standalone(make_cluster, standalone):
    cl, masters = three_masters(make_cluster)
    m0 = masters[0]
    src = standalone()
    sc = Client(src.port)
    keys = ["imp%d" % i for i in range(8)]
    for k in keys:
        assert sc.call("SET", k, "v-" + k) == "OK"
    src_addr = "%s:%d" % (HOST, src.port)
    # --cluster-copy: keys copied to their owners, the source keeps them
    res = cli_ok(cli_cluster("import", m0.addr(), "--cluster-from", src_addr, "--cluster-copy"))
    lines = lines_of(res)
    assert lines[0] == ">>> Importing data from %s to cluster %s" % (src_addr, m0.addr())
    assert in_order(lines, CHECK_OK + ["*** Importing 8 keys from DB 0"])
    migrating = sorted(line for line in lines if line.startswith("Migrating "))
    assert migrating == sorted("Migrating %s to %s: OK" % (k, cl.owner(keyslot(k)).addr()) for k in keys)
    for k in keys:
        assert cl.owner(keyslot(k)).call("GET", k) == ("v-" + k).encode()
    assert sc.call("DBSIZE") == 8
    # again without --cluster-replace: the target refuses (BUSYKEY), redis-cli stops
    res = failed(cli_cluster("import", m0.addr(), "--cluster-from", src_addr))
    assert "ERR Target instance replied with error: BUSYKEY Target key name already exists." in lines_of(res)
    assert any(re.match(r"^Migrating imp\d to 127\.0\.0\.1:\d+: Source %s replied with error:$" % re.escape(src_addr),
                        line) for line in lines_of(res))
    # --cluster-replace without --cluster-copy: moved, the source is emptied
    for k in keys:
        assert sc.call("SET", k, "new-" + k) == "OK"
    cli_ok(cli_cluster("import", m0.addr(), "--cluster-from", src_addr, "--cluster-replace"))
    assert sc.call("DBSIZE") == 0
    for k in keys:
        assert cl.owner(keyslot(k)).call("GET", k) == ("new-" + k).encode()
    # the source must not be a cluster node
    res = failed(cli_cluster("import", m0.addr(), "--cluster-from", masters[1].addr()))
    assert "[ERR] The source node should not be a cluster node." in lines_of(res)
    sc.close()
