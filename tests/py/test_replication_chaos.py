"""Replication consistency under load and faults.

A writer thread writes continuously (mixed types: INCR, LPUSH/LTRIM, HSET, ZADD, SADD/SREM,
EXPIRE, short-lived keys, DEL, MULTI/EXEC, two dbs, whole batches in db 1 so that the stream
often sits in db 1 when a snapshot starts) to a SERVER_BIN master while its four replicas
(SERVER_BIN; two chained behind the others, one sub-master syncing diskless and one through
its disk) are killed -9 and restarted (also during and right after full syncs, and from
older RDB files), paused with SIGSTOP and resumed, and have their links cut with CLIENT KILL
from either side. The master's backlog (2 MB) is small for the write rate, so some
reconnections need a full sync and others resume with a partial one. REPL_CHAOS_SEED replays
a run (the seed is in the failure message), REPL_CHAOS_SECONDS sets its length (default 20).
At the end the writer stops, every replica catches up to the master's offset, and every
DEBUG DIGEST equals the master's.
"""

import os
import random
import shutil
import signal
import threading
import time

import pytest

from helpers import (
    HOST,
    parse_info,
    REPL_ARGS,
    ConnectionClosed,
    repl_info,
    stat,
    wait_in_sync,
    wait_link_up,
    wait_until,
)

CHAOS_SECONDS = float(os.environ.get("REPL_CHAOS_SECONDS", "20"))


def start(factory, *args):
    return factory(args=[*REPL_ARGS, *[str(a) for a in args]])


class Writer(threading.Thread):
    def __init__(self, server, seed):
        super().__init__(daemon=True)
        self.c = server.client(timeout=30)
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.incrs = 0
        self.batches = 0
        self.short = set()  # keys given a short TTL: forced to expire before the digests
        self.error = None

    def batch(self):
        rng = self.rng
        # A batch in db 1 leaves the stream in db 1 between batches: a snapshot a
        # sub-master starts then must carry the stream's database.
        in_db1 = rng.random() < 0.3
        cmds = [["SELECT", "1"]] if in_db1 else []
        incrs = 0
        for _ in range(20):
            k = rng.randrange(300)
            op = rng.randrange(12)
            if op == 0:
                cmds.append(["INCR", "counter"])
                incrs += 1
            elif op == 1:
                cmds.append(["LPUSH", "list:%d" % k, "v%d" % rng.randrange(1000)])
                cmds.append(["LTRIM", "list:%d" % k, "0", "199"])
            elif op == 2:
                cmds.append(["HSET", "hash:%d" % k, "f%d" % rng.randrange(200), str(rng.random())])
            elif op == 3:
                cmds.append(["ZADD", "zset:%d" % k, str(rng.randrange(1000)), "m%d" % rng.randrange(300)])
            elif op == 4:
                cmds.append(["SADD", "set:%d" % k, str(rng.randrange(1000))])
                cmds.append(["SREM", "set:%d" % k, str(rng.randrange(1000))])
            elif op == 5:
                cmds.append(["EXPIRE", "hash:%d" % k, str(rng.randrange(1000, 5000))])
            elif op == 6:
                name = "short:%d" % k
                self.short.add(name)
                cmds.append(["SET", name, "x", "PX", str(rng.randrange(10, 500))])
            elif op == 7:
                cmds.append(["DEL", rng.choice(["list:%d", "hash:%d", "zset:%d", "set:%d", "str:%d"]) % k])
            elif op == 8:
                cmds += [["MULTI"], ["INCR", "counter"], ["SET", "str:%d" % k, "x" * rng.randrange(1, 300)], ["EXEC"]]
                incrs += 1
            elif op == 9:
                other = "0" if in_db1 else "1"
                here = "1" if in_db1 else "0"
                cmds += [["SELECT", other], ["HINCRBY", "db%s" % other, "f%d" % (k % 50), "1"], ["SELECT", here]]
            elif op == 10:
                cmds.append(["SET", "str:%d" % k, "v" * rng.randrange(1, 2000)])
            else:
                cmds.append(["ZINCRBY", "zset:%d" % k, "1.5", "m%d" % rng.randrange(300)])
        if in_db1:
            cmds.append(["SELECT", "0"])
        else:
            self.incrs += incrs  # the counter checked at the end lives in db 0
        for rep in self.c.pipeline(cmds):
            if hasattr(rep, "msg"):
                raise AssertionError("write failed: %s" % rep.msg)
        self.batches += 1

    def run(self):
        try:
            while not self.stop.is_set():
                self.batch()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


def describe_divergence(mc, c, limit=10):
    """The keys whose values differ between the master and a replica, per database."""
    lines = []
    for db in (0, 1):
        mc.call("SELECT", str(db))
        c.call("SELECT", str(db))
        mkeys, rkeys = set(mc.call("KEYS", "*")), set(c.call("KEYS", "*"))
        lines.append("db%d: %d keys on the master, %d on the replica; only on the master: %s;"
                     " only on the replica: %s" % (db, len(mkeys), len(rkeys),
                                                   sorted(mkeys - rkeys)[:limit],
                                                   sorted(rkeys - mkeys)[:limit]))
        differ = [k for k in sorted(mkeys & rkeys)
                  if mc.call("DEBUG", "DIGEST-VALUE", k) != c.call("DEBUG", "DIGEST-VALUE", k)
                  or mc.call("PEXPIRETIME", k) != c.call("PEXPIRETIME", k)]
        for k in differ[:limit]:
            lines.append("  %r: %s / %s, expires at %s / %s" % (
                k, mc.call("TYPE", k), c.call("TYPE", k), mc.call("PEXPIRETIME", k),
                c.call("PEXPIRETIME", k)))
        lines.append("  %d keys differ (value or expiry)" % len(differ))
    mc.call("SELECT", "0")
    c.call("SELECT", "0")
    lines.append("INFO keyspace (logically expired keys included): master %s, replica %s" % (
        parse_info(mc.call("INFO", "keyspace"))[1], parse_info(c.call("INFO", "keyspace"))[1]))
    return "\n".join(lines)


def expired_leftovers(c, names):
    """Promotes a diverging replica (at the very end) and finds which of `names` it still
    held, logically expired: an expired key only goes when a master touches it."""
    c.call("REPLICAOF", "NO", "ONE")
    found = []
    for db in (0, 1):
        c.call("SELECT", str(db))
        for name in sorted(names):
            before = c.call("DBSIZE")
            c.call("EXISTS", name)
            if c.call("DBSIZE") < before:
                found.append("db%d:%s" % (db, name))
    return found


def pause(rng, lo, hi):
    end = time.monotonic() + rng.uniform(lo, hi)
    wait_until(lambda: time.monotonic() >= end, hi + 1)


@pytest.mark.timeout(150)
def test_replicas_stay_consistent_under_kills_stops_and_link_cuts(server_factory):
    seed = int(os.environ.get("REPL_CHAOS_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    m = start(server_factory, "--repl-backlog-size", "2mb", "--repl-diskless-sync", "yes")
    mc = m.client()
    r1 = start(server_factory, "--replicaof", HOST, m.port)
    r2 = start(server_factory, "--replicaof", HOST, m.port, "--repl-diskless-load", "swapdb",
               "--repl-diskless-sync", "no")
    r3 = start(server_factory, "--replicaof", HOST, r1.port)  # chained behind r1 (diskless)
    r4 = start(server_factory, "--replicaof", HOST, r2.port)  # chained behind r2 (disk)
    replicas = [r1, r2, r3, r4]
    upstream_of = {r1: m, r2: m, r3: r1, r4: r2}
    for r in replicas:
        wait_link_up(r.client())
    writer = Writer(m, seed)
    writer.start()
    stopped = set()
    actions = []
    try:
        deadline = time.monotonic() + CHAOS_SECONDS
        while time.monotonic() < deadline and writer.error is None:
            r = rng.choice(replicas)
            action = rng.choice(["kill", "stop", "cut-replica-side", "cut-master-side", "kill-nordb",
                                 "kill-old-rdb", "cut-then-kill"])
            actions.append((action, replicas.index(r)))
            rdb = os.path.join(r.dir, "dump.rdb")
            if os.path.exists(rdb) and rng.random() < 0.3:
                shutil.copyfile(rdb, rdb + ".old")  # for a later restart from an older file
            if action in ("kill", "kill-nordb", "kill-old-rdb"):
                r.kill()
                if action == "kill-nordb" and os.path.exists(rdb):
                    os.unlink(rdb)
                if action == "kill-old-rdb" and os.path.exists(rdb + ".old"):
                    shutil.copyfile(rdb + ".old", rdb)
                pause(rng, 0.1, 1.0)
                r.start(port=r.port)
            elif action == "cut-then-kill":
                # Kill it while it resyncs (often inside a full sync) or right after.
                try:
                    upstream_of[r].client(timeout=5).call("CLIENT", "KILL", "TYPE", "replica")
                except (OSError, ConnectionClosed):
                    pass
                pause(rng, 0.0, 1.5)
                r.kill()
                pause(rng, 0.1, 0.5)
                r.start(port=r.port)
            elif action == "stop":
                os.kill(r.proc.pid, signal.SIGSTOP)
                stopped.add(r)
                pause(rng, 0.3, 2.0)
                os.kill(r.proc.pid, signal.SIGCONT)
                stopped.discard(r)
            elif action == "cut-replica-side":
                try:
                    r.client(timeout=5).call("CLIENT", "KILL", "TYPE", "master")
                except (OSError, ConnectionClosed):
                    pass  # it may be busy loading
            else:
                try:
                    upstream_of[r].client(timeout=5).call("CLIENT", "KILL", "TYPE", "replica")
                except (OSError, ConnectionClosed):
                    pass  # a sub-master may be down itself
            pause(rng, 0.2, 1.0)
    finally:
        for r in stopped:
            os.kill(r.proc.pid, signal.SIGCONT)
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, "writer failed: %r (seed %d)" % (writer.error, seed)
    assert writer.batches > 50, "the writer barely ran (seed %d)" % seed

    # Let the short-lived keys expire on the master now, so that no DEL races the digests.
    for db in ("1", "0"):  # short-lived keys are written in both databases
        mc.call("SELECT", db)
        for name in sorted(writer.short):
            wait_until(lambda: mc.call("EXISTS", name) == 0, 5)
    clients = [r.client(timeout=30) for r in replicas]
    for i, c in enumerate(clients):
        try:
            wait_link_up(c, 60)
        except AssertionError as e:
            # Enough to see why a link stayed down: the replica's and its upstream's logs.
            r = replicas[i]
            tail = lambda s: "\n".join(s.log().splitlines()[-40:])
            raise AssertionError("%s: r%d (seed %d, actions %s)\n--- r%d log:\n%s\n--- upstream log:\n%s" % (
                e, i + 1, seed, actions, i + 1, tail(r), tail(upstream_of[r]))) from None
    wait_in_sync(mc, clients, timeout=60)
    digest = mc.call("DEBUG", "DIGEST")
    got = [c.call("DEBUG", "DIGEST") for c in clients]
    detail = "seed %d, actions %s, full %d, partial %d" % (
        seed, actions, stat(mc, "sync_full"), stat(mc, "sync_partial_ok"))
    print(detail, "batches", writer.batches)  # shown with -s / -rP
    for r, c, d in zip(replicas, clients, got):
        if d != digest:
            detail += "\nreplica r%d (port %d) differs:\n%s\n--- its log:\n%s" % (
                replicas.index(r) + 1, r.port, describe_divergence(mc, c),
                "\n".join(r.log().splitlines()[-60:]))
    if got != [digest] * len(replicas):
        for r, c, d in zip(replicas, clients, got):
            if d != digest:
                detail += "\nr%d held these keys, expired: %s" % (
                    replicas.index(r) + 1, expired_leftovers(c, writer.short))
    assert got == [digest] * len(replicas), detail
    assert mc.call("GET", "counter") == str(writer.incrs).encode(), detail
    assert [c.call("DBSIZE") for c in clients] == [mc.call("DBSIZE")] * len(replicas), detail
    assert repl_info(mc)["connected_slaves"] == "2"
