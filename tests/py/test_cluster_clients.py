"""Cluster clients that read from replicas, through a 3 masters x 1 replica cluster made
by redis-cli: redis-py's RedisCluster(read_from_replicas=True) and ioredis's Cluster with
scaleReads "slave" (npm, from tests/js). Both write and read back every key, their reads
land on the replicas (INFO commandstats of each replica counts GETs), and both keep working
across a failover (a master killed): what was written before is still there after."""

import os
import shutil
import subprocess

import pytest

from cluster_helpers import Cluster
from helpers import SERVER_BIN, parse_info, read_json_line, wait_until

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "js")


@pytest.fixture
def cluster():
    if not os.path.exists(SERVER_BIN):
        pytest.fail("server binary %s does not exist (set REDUST_SERVER)" % SERVER_BIN)
    cl = Cluster(node_timeout=1500)
    try:
        cl.create_with_cli(3, 1)
        cl.wait_replicas_visible()
        yield cl
    finally:
        cl.cleanup()


def gets_served(node):
    stats = parse_info(node.call("INFO", "commandstats"))[1]
    line = stats.get("cmdstat_get", "")
    return int(line.split("calls=")[1].split(",")[0]) if line else 0


def test_redis_py_cluster_reads_from_replicas_across_a_failover(cluster):
    redis = pytest.importorskip("redis")
    from redis.cluster import RedisCluster

    masters = cluster.masters()
    replicas = [cluster.replicas_of(m)[0] for m in masters]
    rc = RedisCluster(host="127.0.0.1", port=masters[0].port, read_from_replicas=True,
                      cluster_error_retry_attempts=10)
    try:
        for i in range(300):
            rc.set("py:%d" % i, "v%d" % i)
        # Reads may reach a replica a moment before the write does: retry until served.
        for i in range(300):
            wait_until(lambda: rc.get("py:%d" % i) == b"v%d" % i, 5, 0.01)
        assert all(gets_served(r) > 0 for r in replicas), [gets_served(r) for r in replicas]
        # A master dies: its replica takes over and the client follows.
        old, promoted = masters[0], replicas[0]
        old.kill()
        wait_until(lambda: promoted.role() == "master", 20, 0.05, msg="replica promoted")

        def written_after():
            try:
                for i in range(50):
                    rc.set("py-after:%d" % i, "w%d" % i)
                return True
            except redis.exceptions.RedisError:
                return False

        wait_until(written_after, 20, 0.2, msg="writes through the new master")
        assert [rc.get("py:%d" % i) for i in range(300)] == [b"v%d" % i for i in range(300)]
    finally:
        rc.close()


@pytest.mark.skipif(
    shutil.which("node") is None or not os.path.isdir(os.path.join(JS, "node_modules", "ioredis")),
    reason="node and tests/js/node_modules (scripts/setup-test-deps.sh) are needed",
)
def test_ioredis_cluster_reads_from_replicas_across_a_failover(cluster):
    masters = cluster.masters()
    replicas = [cluster.replicas_of(m)[0] for m in masters]
    proc = subprocess.Popen(["node", os.path.join(JS, "cluster_clients.js"), str(masters[0].port), "300"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = read_json_line(proc, 60)
        assert ready["phase"] == "ready" and ready["good"] == 300, ready
        assert all(gets_served(r) > 0 for r in replicas), [gets_served(r) for r in replicas]
        masters[0].kill()
        wait_until(lambda: replicas[0].role() == "master", 20, 0.05, msg="replica promoted")
        proc.stdin.write("go\n")
        proc.stdin.flush()
        done = read_json_line(proc, 60)
        assert done["phase"] == "done" and done["good"] == 300 and done["kept"] == 300, done
    finally:
        proc.kill()
        proc.wait()
