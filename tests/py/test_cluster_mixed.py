"""A cluster of redust and Redis 7.0 nodes (Redis's own redis-server as REDIS_PEER): made
by redis-cli, gossiping over one bus protocol, slots resharded with their keys from redust
to Redis and back, and a failover from a Redis master to a redust replica and back. When
REDUST_SERVER is Redis itself, every node is Redis (the test still holds)."""

import os
import signal

import pytest

from cluster_helpers import Cluster, ClusterNode, cli_cluster, keyslot
from helpers import SERVER_BIN, wait_until

REDIS_PEER = os.environ.get("REDIS_PEER", "/usr/bin/redis-server")

pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_PEER), reason="REDIS_PEER (%s) not installed" % REDIS_PEER)


def add(cl, binary):
    n = ClusterNode(node_timeout=cl.node_timeout, binary=binary)
    cl.nodes.append(n)
    n.start()
    return n


def keys_in(slots_below, count):
    out, n = [], 0
    while len(out) < count:
        k = "mix%d" % n
        n += 1
        if keyslot(k) < slots_below:
            out.append(k)
    return out


def test_redust_and_redis_nodes_in_one_cluster():
    cl = Cluster(node_timeout=1500)
    try:
        # Masters: redust, Redis, redust; replicas: Redis of the first, redust of the second.
        masters = [add(cl, SERVER_BIN), add(cl, REDIS_PEER), add(cl, SERVER_BIN)]
        replicas = [add(cl, REDIS_PEER), add(cl, SERVER_BIN)]
        res = cli_cluster("create", *[m.addr() for m in masters], "--cluster-yes")
        assert res.returncode == 0, res.out
        cl.wait_ok(masters)
        for r, m in zip(replicas, masters):
            res = cli_cluster("add-node", r.addr(), masters[0].addr(), "--cluster-slave",
                              "--cluster-master-id", m.myid())
            assert res.returncode == 0, res.out
        cl.wait_ok(timeout=30)
        wait_until(lambda: all(r.role() == "slave" for r in replicas), 20, 0.05, msg="replicas attached")

        # Keys in slots 0..999 (the first, redust master's), then move them to Redis and back.
        keys = keys_in(1000, 300)
        c = masters[0].client()
        for k in keys:
            assert c.call("SET", k, k) == "OK"
        for src, dst in ((masters[0], masters[1]), (masters[1], masters[0])):
            res = cli_cluster("reshard", masters[0].addr(), "--cluster-from", src.myid(), "--cluster-to",
                              dst.myid(), "--cluster-slots", "1000", "--cluster-yes", timeout=300)
            assert res.returncode == 0, res.out
            cl.wait_ok(timeout=30)
            assert int(dst.call("DBSIZE")) >= len(keys)
            dc = dst.client()
            assert [dc.call("GET", k) for k in keys] == [k.encode() for k in keys]
        check = cli_cluster("check", masters[1].addr())
        assert "All nodes agree about slots configuration" in check.out
        assert "All 16384 slots covered" in check.out

        # The Redis master dies: its redust replica takes over; it comes back as a replica.
        redis_master, redust_replica = masters[1], replicas[1]
        tag = None
        for n in range(100000):
            if cl.owner(keyslot("t%d" % n)) is redis_master:
                tag = "t%d" % n
                break
        assert redis_master.call("SET", tag, "before") == "OK"
        os.kill(redis_master.proc.pid, signal.SIGKILL)
        wait_until(lambda: redust_replica.role() == "master", 30, 0.05, msg="redust replica promoted")
        survivors = [n for n in cl.nodes if n is not redis_master]
        cl.wait_ok(survivors, timeout=30)
        assert redust_replica.client().call("GET", tag) == b"before"
        redis_master.start(port=redis_master.port)
        cl.wait_ok(timeout=30)
        wait_until(lambda: redis_master.role() == "slave", 30, 0.05, msg="old Redis master rejoins as a replica")
    finally:
        cl.cleanup()
