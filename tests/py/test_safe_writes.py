"""Safe mode (`safe-writes yes`, redust's own; docs/design/safe-mode.md): a master
acknowledges a write only once `min-replicas-to-write` replicas (at least one) have it, and
only while it holds a lease from its Sentinels.

redust only: Redis has no such mode, so these tests skip against redis-server.
"""

import os
import signal
import time

import pytest

from helpers import HOST, REPL_ARGS, SERVER_BIN, Client, RespError, Server, wait_online, wait_until
from sentinel_helpers import Deployment

pytestmark = pytest.mark.skipif("redis-server" in os.path.basename(SERVER_BIN),
                                reason="safe-writes is redust's own mode")

NOT_ACKNOWLEDGED = "NOREPLICAS Not enough good replicas to write."


def start_pair(server_factory, *master_args):
    m = server_factory(args=[*REPL_ARGS, *master_args])
    r = server_factory(args=[*REPL_ARGS, "--replicaof", HOST, str(m.port)])
    mc = m.client()
    wait_online(mc, 1)
    return m, r, mc


def test_a_write_is_acknowledged_once_a_replica_has_it(server_factory):
    m, r, mc = start_pair(server_factory, "--safe-writes", "yes", "--safe-writes-lease", "no",
                          "--safe-write-timeout", "1000")
    assert mc.call("SET", "k", "v") == "OK"
    assert mc.call("INCR", "n") == 1
    # The replica has it by the time the client hears OK (no WAIT needed).
    rc = r.client()
    assert rc.call("GET", "k") == b"v"
    # A replica that stops answering: writes are applied but not acknowledged.
    os.kill(r.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(RespError) as e:
            mc.call("SET", "k", "w")
        assert e.value.msg == NOT_ACKNOWLEDGED
        assert time.monotonic() - t0 >= 0.9
        # Reads are not held.
        assert mc.call("GET", "k") == b"w"
    finally:
        os.kill(r.proc.pid, signal.SIGCONT)
    wait_until(lambda: mc.call("SET", "k", "x") == "OK", 10, msg="acknowledged again once the replica is back")
    # MULTI/EXEC and scripts are one write each.
    mc.call("MULTI")
    mc.call("SET", "a", "1")
    mc.call("SET", "b", "2")
    assert mc.call("EXEC") == ["OK", "OK"]
    assert mc.call("EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", 1, "c", "3") == "OK"
    assert rc.call("MGET", "a", "b", "c") == [b"1", b"2", b"3"]


def test_pipelined_writes_keep_their_order(server_factory):
    m, r, mc = start_pair(server_factory, "--safe-writes", "yes", "--safe-writes-lease", "no")
    raw = b"".join(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(50))
    mc.send_raw(raw)
    got = [mc.read_reply() for _ in range(50)]
    assert got == list(range(1, 51))


def test_without_a_lease_nothing_is_acknowledged(server_factory):
    m, r, mc = start_pair(server_factory, "--safe-writes", "yes", "--safe-write-timeout", "500")
    with pytest.raises(RespError) as e:
        mc.call("SET", "k", "v")
    assert e.value.msg == NOT_ACKNOWLEDGED


def test_sentinels_grant_the_lease():
    d = Deployment()
    try:
        d.master = d.data_node("--safe-writes", "yes", "--safe-write-timeout", "2000")
        d.replicas.append(d.data_node("--replicaof", HOST, d.master.port))
        d.replicas.append(d.data_node("--replicaof", HOST, d.master.port))
        mc = d.master.client()
        wait_online(mc, 2)
        d.start_sentinels(3)
        d.wait_discovery()
        wait_until(lambda: mc.call("SET", "k", "v") == "OK", 15,
                   msg="the Sentinels' grants give the master its lease")
    finally:
        d.cleanup()


def test_failover_in_safe_mode_keeps_every_acknowledged_write():
    """The master killed under a steady writer: every write it acknowledged is on the new
    master, and the new master acknowledges writes once the Sentinels grant it a lease."""
    import threading

    d = Deployment()
    acked = []
    stop = threading.Event()
    try:
        safe = ("--safe-writes", "yes", "--safe-write-timeout", "1000")
        d.master = d.data_node(*safe)
        for _ in range(2):
            d.replicas.append(d.data_node(*safe, "--replicaof", HOST, d.master.port))
        mc = d.master.client()
        wait_online(mc, 2)
        d.start_sentinels(3)
        d.wait_discovery()
        wait_until(lambda: mc.call("SET", "warm", "1") == "OK", 15, msg="lease granted")

        def writer():
            c = Client(d.master.port, timeout=3)
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    if c.call("SET", "w:%d" % n, n) == "OK":
                        acked.append(n)
                except Exception:
                    return

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        wait_until(lambda: len(acked) > 50, 10, msg="writes acknowledged")
        old = d.master.port
        os.kill(d.master.proc.pid, signal.SIGKILL)
        t.join(10)
        new = d.wait_new_master(old, timeout=40)
        nc = Client(new)
        wait_until(lambda: nc.call("SET", "after", "1") == "OK", 20,
                   msg="the new master is granted a lease and acknowledges writes")
        keys = ["w:%d" % n for n in acked]
        present = []
        for i in range(0, len(keys), 500):
            present += nc.call("MGET", *keys[i:i + 500])
        lost = [k for k, v in zip(keys, present) if v is None]
        assert not lost, "%d of %d acknowledged writes lost: %s" % (len(lost), len(acked), lost[:10])
    finally:
        stop.set()
        d.cleanup()


def test_publish_is_not_held(server_factory):
    """A PUBLISH reaches the replicas too, but is no write to wait for: a Sentinel's hellos
    to a master with no replica left must not stall its link."""
    m = server_factory(args=[*REPL_ARGS, "--safe-writes", "yes", "--safe-write-timeout", "5000"])
    c = m.client()
    t0 = time.monotonic()
    assert c.call("PUBLISH", "__sentinel__:hello", "x") == 0
    assert c.call("PING") == "PONG"
    assert time.monotonic() - t0 < 1
