"""Sentinels of the server under test next to Redis 7.0's own.

* Sentinels of the server under test monitor real redis-server nodes and fail them over.
* One Sentinel of the server under test and one real redis-sentinel in one group, quorum 2:
  with two Sentinels a leader needs the other's vote, so every failover here is a vote
  across implementations; both end on the same new master and epoch, and each lists the
  other in SENTINEL SENTINELS.

The real Redis is ``REDIS_PEER`` (default /usr/bin/redis-server, started with
``--sentinel`` for the Sentinel). Against ``REDUST_SERVER=/usr/bin/redis-server`` these
run all-Redis, which is how they are checked.
"""

import os
import signal

import pytest

from helpers import REDIS_PEER, SERVER_BIN, Client, repl_info
from sentinel_helpers import MASTER, Deployment, fields

pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_PEER), reason="needs redis-server 7.0")


@pytest.fixture
def deploy():
    made = []

    def make(binary):
        d = Deployment(binary=binary)
        made.append(d)
        return d

    yield make
    for d in made:
        d.cleanup()


def add_sentinel_of(d, binary, **cfg):
    """A Sentinel from ``binary`` in deployment ``d`` (whose data nodes may be another's)."""
    data_binary = d.binary
    d.binary = binary
    try:
        return d.add_sentinel(**cfg)
    finally:
        d.binary = data_binary


def role_of(port):
    c = Client(port, timeout=5)
    try:
        return repl_info(c)
    finally:
        c.close()


def test_sentinels_under_test_fail_over_real_redis_nodes(deploy):
    d = deploy(REDIS_PEER).start_data(replicas=2)
    for _ in range(3):
        add_sentinel_of(d, SERVER_BIN)
    d.wait_discovery()
    old = d.master.port
    os.kill(d.master.proc.pid, signal.SIGKILL)
    new = d.wait_new_master(old, timeout=30)
    promoted = d.node_by_port(new)
    d.wait_role(promoted, "master")
    other = next(r for r in d.replicas if r.port != new)
    d.wait_role(other, "slave", master_port=new, timeout=30)
    epochs = {fields(d.call(i, "SENTINEL", "MASTER", MASTER))["config-epoch"] for i in range(3)}
    d.check(epochs == {"1"}, "one config epoch everywhere: %s" % epochs)
    promotions = [i for i in range(3) if d.recorders[i].find("+promoted-slave")]
    d.check(len(promotions) == 1, "exactly one Sentinel promoted: %s" % promotions)


@pytest.mark.parametrize("first", ["under-test", "redis"])
def test_a_mixed_pair_votes_for_each_other(deploy, first):
    """Two Sentinels, quorum 2: the failover leader needs the other Sentinel's vote."""
    d = deploy(REDIS_PEER).start_data(replicas=2)
    order = [SERVER_BIN, REDIS_PEER] if first == "under-test" else [REDIS_PEER, SERVER_BIN]
    for binary in order:
        add_sentinel_of(d, binary)
    d.wait_discovery()
    for i in range(2):
        peers = [fields(r) for r in d.call(i, "SENTINEL", "SENTINELS", MASTER)]
        d.check(len(peers) == 1 and peers[0]["port"] == str(d.sentinels[1 - i].port),
                "sentinel %d lists the other: %s" % (i, peers))
        d.check(peers[0]["runid"] == d.call(1 - i, "SENTINEL", "MYID").decode(),
                "sentinel %d knows the other's id" % i)
    old = d.master.port
    os.kill(d.master.proc.pid, signal.SIGKILL)
    new = d.wait_new_master(old, timeout=40)
    d.wait_role(d.node_by_port(new), "master")
    leaders = [i for i in range(2) if d.recorders[i].find("+elected-leader")]
    d.check(len(leaders) == 1, "one leader: %s" % leaders)
    (leader,) = leaders
    voter = 1 - leader
    myid = d.call(leader, "SENTINEL", "MYID").decode()
    d.check(bool(d.recorders[voter].find("+vote-for-leader", myid)),
            "sentinel %d voted for the leader %d" % (voter, leader))
    epochs = {fields(d.call(i, "SENTINEL", "MASTER", MASTER))["config-epoch"] for i in range(2)}
    d.check(len(epochs) == 1, "one config epoch: %s" % epochs)
    info = role_of(next(r for r in d.replicas if r.port != new).port)
    d.check(info["role"] == "slave", "the other replica is a replica: %s" % info)


@pytest.mark.parametrize("name", ["redis-sentinel", "redust-sentinel"])
def test_a_program_named_like_sentinel_runs_as_one(tmp_path, name):
    """Started under a name ending in -sentinel (a link, as distributions ship
    redis-sentinel), the server is a Sentinel without --sentinel."""
    import socket
    import subprocess
    import time

    if name == "redust-sentinel" and "redis-server" in os.path.basename(SERVER_BIN):
        pytest.skip("Redis knows only the redis-sentinel name")
    link = tmp_path / name
    os.symlink(SERVER_BIN, link)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    conf = tmp_path / "s.conf"
    conf.write_text("port %d\ndir %s\nsentinel monitor m 127.0.0.1 1 1\n" % (port, tmp_path))
    proc = subprocess.Popen([str(link), str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        info = None
        while time.monotonic() < deadline:
            try:
                c = Client(port, timeout=2)
                info = c.call("INFO", "server")
                c.close()
                break
            except OSError:
                time.sleep(0.05)
        assert info is not None, "no answer from %s" % name
        assert b"redis_mode:sentinel" in info
    finally:
        proc.kill()
        proc.wait()
