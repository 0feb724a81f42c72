"""Replication between the server under test (SERVER_BIN) and real Redis (REDIS_PEER), both ways.

A SERVER_BIN replica of a Redis master and a Redis replica of a SERVER_BIN master: full sync
of a dataset with every type (big collections beyond the listpack/intset thresholds, keys
with TTL, several dbs), a live stream of writes, a partial resync after the link is cut,
and DEBUG DIGEST equal on both sides once the offsets match.
"""

import os

import pytest

from helpers import (
    HOST,
    REDIS_PEER,
    REPL_ARGS,
    SERVER_BIN,
    repl_info,
    stat,
    wait_in_sync,
    wait_link_up,
    wait_online,
    wait_until,
)

pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_PEER), reason="REDIS_PEER (%s) not installed" % REDIS_PEER)


def start(factory, binary, *args):
    return factory(args=[*REPL_ARGS, *[str(a) for a in args]], binary=binary)


def load_dataset(c):
    c.call("SET", "str", "hello")
    c.call("SET", "int", "-12345")
    c.call("SET", "bigstr", "x" * 200000)
    c.call("SET", "ttl", "v", "EX", "5000")
    c.call("SET", "pttl", "v", "PX", "7000000")
    c.call("RPUSH", "list", *[str(i) for i in range(30)])
    c.call("RPUSH", "biglist", *["element-%d" % i for i in range(2000)])
    c.call("HSET", "hash", "a", "1", "b", "2")
    c.call("HSET", "bighash", *sum([["field-%d" % i, "v" * (i % 70)] for i in range(1000)], []))
    c.call("SADD", "intset", *[str(i * 3) for i in range(100)])
    c.call("SADD", "bigintset", *[str(i) for i in range(1000)])
    c.call("SADD", "strset", "a", "b", "c")
    c.call("SADD", "bigset", *["member-%d" % i for i in range(500)])
    c.call("ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c")
    c.call("ZADD", "bigzset", *sum([[str(i / 7.0), "m-%d" % i] for i in range(1000)], []))
    c.call("HSET", "ttlhash", "f", "v")
    c.call("PEXPIRE", "ttlhash", "9000000")
    for db in (1, 9, 15):
        c.call("SELECT", str(db))
        c.call("SET", "db", str(db))
        c.call("RPUSH", "l%d" % db, *[str(i) for i in range(200)])
        c.call("EXPIRE", "l%d" % db, str(1000 * db))
    c.call("SELECT", "0")


def live_writes(c, start, n):
    """A mix of writes, including ones the master rewrites before propagating."""
    for i in range(start, start + n):
        c.call("INCR", "counter")
        c.call("LPUSH", "biglist", "new-%d" % i)
        c.call("HSET", "bighash", "field-%d" % (i % 1500), str(i))
        c.call("ZADD", "bigzset", str(i % 97), "m-%d" % (i % 1200))
        c.call("SADD", "bigintset", str(10000 + i))
        c.call("SET", "t:%d" % i, "v", "EX", str(100 + i))
        c.call("INCRBYFLOAT", "float", "0.5")
        if i % 3 == 0:
            c.call("SPOP", "bigset")
            c.call("DEL", "t:%d" % (i - 1))
            c.call("EXPIRE", "list", str(1000 + i))
        if i % 5 == 0:
            c.call("MULTI")
            c.call("RPOPLPUSH", "biglist", "list")
            c.call("SELECT", "9")
            c.call("INCR", "in9")
            c.call("EXEC")
            c.call("SELECT", "0")
        if i % 7 == 0:
            c.call("SET", "gone", "x", "PX", "1")  # expires on the master: a DEL follows


def assert_same(master, replicas):
    # "gone" (PX 1) may still sit in the master's memory until expiry finds it; its DEL
    # would then race with the digests. Touching it makes the master expire it now.
    wait_until(lambda: master.call("EXISTS", "gone") == 0, 5)
    wait_in_sync(master, replicas, timeout=30)
    d = master.call("DEBUG", "DIGEST")
    assert d != b"0" * 40
    for r in replicas:
        assert r.call("DEBUG", "DIGEST") == d
    assert [r.call("DBSIZE") for r in replicas] == [master.call("DBSIZE")] * len(replicas)


def link_cut_and_partial_resync(master, replica, cut_from_master, n_writes=30):
    ok, full = stat(master, "sync_partial_ok"), stat(master, "sync_full")
    if cut_from_master:
        assert master.call("CLIENT", "KILL", "TYPE", "replica") >= 1
    else:
        assert replica.call("CLIENT", "KILL", "TYPE", "master") == 1
    live_writes(master, 5000, n_writes)  # part of it lands in the backlog
    wait_until(lambda: stat(master, "sync_partial_ok") == ok + 1, 15)
    assert stat(master, "sync_full") == full
    wait_link_up(replica)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_server_replica_of_a_redis_master(server_factory, diskless):
    m = start(server_factory, REDIS_PEER, "--repl-diskless-sync", diskless)
    mc = m.client()
    load_dataset(mc)
    live_writes(mc, 0, 20)
    r = start(server_factory, SERVER_BIN, "--replicaof", HOST, m.port)
    rc = r.client()
    wait_link_up(rc, 30)
    wait_online(mc, 1)
    assert_same(mc, [rc])  # after the full sync
    live_writes(mc, 100, 100)
    assert_same(mc, [rc])  # after the live stream
    link_cut_and_partial_resync(mc, rc, cut_from_master=False)
    assert_same(mc, [rc])
    link_cut_and_partial_resync(mc, rc, cut_from_master=True)
    assert_same(mc, [rc])
    assert rc.call("GET", "counter") == mc.call("GET", "counter")
    assert rc.call("TTL", "ttl") > 4000


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_redis_replica_of_a_server_master(server_factory, diskless):
    m = start(server_factory, SERVER_BIN, "--repl-diskless-sync", diskless)
    mc = m.client()
    load_dataset(mc)
    live_writes(mc, 0, 20)
    r = start(server_factory, REDIS_PEER, "--replicaof", HOST, m.port)
    rc = r.client()
    wait_link_up(rc, 30)
    wait_online(mc, 1)
    assert_same(mc, [rc])
    live_writes(mc, 100, 100)
    assert_same(mc, [rc])
    link_cut_and_partial_resync(mc, rc, cut_from_master=True)
    assert_same(mc, [rc])
    link_cut_and_partial_resync(mc, rc, cut_from_master=False)
    assert_same(mc, [rc])
    assert "MASTER <-> REPLICA sync: Finished with success" in r.log()
    assert "Successful partial resynchronization with master." in r.log()


def test_mixed_chain_and_promotion(server_factory):
    """Redis master -> SERVER replica -> Redis sub-replica, plus a SERVER sibling; then the
    SERVER replica is promoted and the Redis sibling of the old master re-pointed to it."""
    m = start(server_factory, REDIS_PEER)
    mc = m.client()
    load_dataset(mc)
    s1 = start(server_factory, SERVER_BIN, "--replicaof", HOST, m.port)
    r2 = start(server_factory, REDIS_PEER, "--replicaof", HOST, m.port)
    sub = start(server_factory, REDIS_PEER, "--replicaof", HOST, s1.port)
    c1, c2, csub = s1.client(), r2.client(), sub.client()
    for c in (c1, c2, csub):
        wait_link_up(c, 30)
    live_writes(mc, 0, 50)
    assert_same(mc, [c1, c2, csub])
    # promote the server under test; the Redis sibling follows it with a partial resync
    m.kill()
    full, ok = stat(c1, "sync_full"), stat(c1, "sync_partial_ok")  # the sub-replica synced from s1
    assert c1.call("REPLICAOF", "NO", "ONE") == "OK"
    assert c2.call("REPLICAOF", HOST, str(s1.port)) == "OK"
    wait_link_up(c2)
    live_writes(c1, 1000, 50)
    assert_same(c1, [c2, csub])
    # both the re-pointed sibling and the sub-replica (disconnected by the promotion, which
    # changes the replication id) come back by partial resync
    wait_until(lambda: stat(c1, "sync_partial_ok") == ok + 2, 10)
    assert stat(c1, "sync_full") == full


def test_server_replica_authenticates_as_an_acl_user_of_a_redis_master(server_factory):
    # masteruser + masterauth: the replica sends AUTH <user> <pass>. The master is real
    # Redis, whose ACL user may only run what replication needs.
    m = start(server_factory, REDIS_PEER, "--requirepass", "adminpw")
    mc = m.client()
    mc.call("AUTH", "adminpw")
    assert mc.call("ACL", "SETUSER", "repl", "on", ">replpw", "+psync", "+replconf", "+ping") == "OK"
    mc.call("SET", "k", "v")
    r = start(server_factory, SERVER_BIN, "--replicaof", HOST, m.port,
              "--masteruser", "repl", "--masterauth", "replpw")
    rc = r.client()
    wait_link_up(rc, 30)
    assert rc.call("GET", "k") == b"v"
    mc.call("SET", "k2", "v2")
    wait_until(lambda: rc.call("GET", "k2") == b"v2", 10)
    # A wrong password for that user keeps the link down.
    bad = start(server_factory, SERVER_BIN, "--replicaof", HOST, m.port,
                "--masteruser", "repl", "--masterauth", "nope")
    bc = bad.client()
    wait_until(lambda: "Unable to AUTH to MASTER" in bad.log(), 10)
    assert repl_info(bc)["master_link_status"] == "down"
