"""Cluster behaviour under load: no acknowledged write is lost while slots move or a
master fails.

* Resharding under load: 3 masters x 1 replica made by ``redis-cli --cluster create``,
  600 keys preloaded in each of a few "hot" slots that are about to move (so that they
  stay migrating for a while). A redis-py ``RedisCluster`` in a background thread writes
  continuously at about 400 operations/s (``SET k:<i> <i>`` with increasing i, every
  other key in a hot slot, and INCR on counters in the hot slots and in one that never
  moves), recording every acknowledged write and every exception, while ``redis-cli
  --cluster reshard`` moves 1000 slots from the first master to the second; then an
  empty master joins with ``add-node``, gets one slot (a 1-slot reshard) and ``redis-cli
  --cluster rebalance`` brings every master to 4096 slots. (The one slot first: redis-py
  builds its node table from CLUSTER SLOTS, which leaves out a master without slots, and
  an ASK redirect to a node missing from that table fails inside redis-py with
  AttributeError, redis/redis-py#4015, so the writer reloads the slot map once the new
  master owns a slot.) Afterwards every acknowledged key reads back its value, each
  counter equals its acknowledged INCRs, no key was left behind on a node that no longer
  owns its slot (DBSIZE sums, COUNTKEYSINSLOT), replicas hold what their masters hold,
  ``redis-cli --cluster check`` is clean (no open slot), and the writer saw no exception
  (MOVED / ASK / TRYAGAIN errors surfacing from redis-py would be tolerated and counted;
  none do on Redis 7.0.15; any other is a failure). The writer's counts, the phases'
  durations and the masters' errorstats (ASK/MOVED redirects) are printed.
* A failover with WAIT-acknowledged writes: 3 masters x 2 replicas
  (``create_with_cli(3, 2)``). A writer sends ``SET`` batches followed by ``WAIT 1 1000``
  to one master; a batch counts as acknowledged when WAIT returns >= 1. The master is
  then (a) killed with SIGKILL or (b) stopped with SIGSTOP until a replica has taken
  over (longer than the node timeout), then resumed with SIGCONT. Exactly one of its two
  replicas is promoted within 15 s (node timeout 1500 ms), with a config epoch above
  every other master's; every acknowledged key is on it; the other replica follows it
  and has every acknowledged key; in case (b) the old master comes back as a replica of
  the new one. Every live node ends with the same view (``Cluster.wait_ok``: no slot
  owned by two masters, every slot covered, the killed node flagged fail).

Not covered here: a master cut off by a real network partition (the bus links only
dropped). There is no iptables on the test machine, and ``DEBUG
DROP-CLUSTER-PACKET-FILTER`` drops only one message type, which is no partition.
Partitions (an isolated master replaced by the majority) are covered by the cluster
simulation harness instead: ``crates/test-support/tests/sim_cluster.rs``
(``an_isolated_master_is_replaced_by_the_majority``)."""

import os
import shutil
import signal
import threading
import time

import pytest

from cluster_helpers import CHECK_OK, SLOTS, Cluster, cli_cluster, cli_ok, in_order, keyslot, parse_ranges
from helpers import HOST, REDIS_CLI, SERVER_BIN, Client, parse_info, wait_until

pytestmark = pytest.mark.skipif(not (os.path.exists(REDIS_CLI) or shutil.which(REDIS_CLI)),
                                reason="redis-cli not installed")

NODE_TIMEOUT = 1500





def sizes_of(view):
    """Slot count of every master in a Cluster view (masters without slots left out)."""
    return {nid: len(parse_ranges(v[3])) for nid, v in view.items() if v[1] == "master" and v[3]}


def assert_slots_partitioned(view):
    """Every slot is owned by exactly one master of the view."""
    seen = {}
    for nid, v in view.items():
        if v[1] != "master":
            assert not v[3], "replica %s claims slots %s" % (nid, v[3])
            continue
        for s in parse_ranges(v[3]):
            assert s not in seen, "slot %d claimed by %s and %s" % (s, seen[s], nid)
            seen[s] = nid
    assert len(seen) == SLOTS, "%d slots covered" % len(seen)


def dbsize(node):
    return int(node.call("DBSIZE"))


# ---------------------------------------------------------------------------
# resharding under load
# ---------------------------------------------------------------------------

# Slots written hard, with PRELOAD keys each before the slots move, so that each one stays
# migrating for a while and the writer's commands meet the migration (ASK redirects):
# 7, 500 and 999 move twice (the reshard takes slots 0-999 from the first master to the
# second; the rebalance takes 0-999 and 5461-6826 from the second, 1000-1364 from the
# first and 10923-12287 from the third to the new master), 1200, 6000 and 11000 once.
HOT_SLOTS = (7, 500, 999, 1200, 6000, 11000)
COLD_SLOT = 8000  # never moves
PRELOAD = 600


def tags_for(slots, prefix="t"):
    """{slot: a hash tag hashing to slot} (binascii's crc_hqx is Redis's CRC16)."""
    import binascii

    want = set(slots)
    out = {}
    n = 0
    while want:
        t = "%s%d" % (prefix, n)
        s = binascii.crc_hqx(t.encode(), 0) % SLOTS
        if s in want:
            out[s] = t
            want.discard(s)
        n += 1
    return out


class ClusterWriter(threading.Thread):
    """Through a RedisCluster, at about ``rate`` operations per second until ``stop`` is
    set: every ``incr_every``-th operation an INCR of one of ``counters``, the others
    ``SET <key> <i>`` (i = 0, 1, ...) with the key alternately ``k:<i>`` (any slot) and
    ``{<tag>}k:<i>`` (the tags in turn). Records acknowledged SETs (key, value) and INCRs
    and every exception (with the operation it belonged to)."""

    def __init__(self, port, counters, tags, rate=400, incr_every=5):
        super().__init__(daemon=True)
        self.port = port
        self.counters = counters
        self.tags = tags
        self.rate = rate
        self.incr_every = incr_every
        self.stop = threading.Event()
        self.acked = []  # (key, value) whose SET returned True
        self.failed_sets = []  # keys whose SET raised
        self.incr_acked = {c: 0 for c in counters}
        self.incr_failed = {c: 0 for c in counters}
        self.errors = []  # (operation, key, exception)
        self.fatal = None
        self._refresh = threading.Event()
        self._refreshed = threading.Event()

    def refresh(self, timeout=10):
        """Make the writer reload the slot map (CLUSTER SLOTS) between two operations."""
        self._refreshed.clear()
        self._refresh.set()
        assert self._refreshed.wait(timeout) or self.fatal, "writer did not refresh its slot map"

    def run(self):
        import redis
        from redis.cluster import RedisCluster

        try:
            rc = RedisCluster(host=HOST, port=self.port, socket_timeout=10)
        except Exception as e:  # noqa: BLE001
            self.fatal = e
            return
        try:
            op = 0
            i = 0
            start = time.monotonic()
            while not self.stop.is_set():
                if self._refresh.is_set():
                    self._refresh.clear()
                    rc.nodes_manager.initialize()
                    self._refreshed.set()
                op += 1
                if op % self.incr_every == 0:
                    c = self.counters[(op // self.incr_every) % len(self.counters)]
                    try:
                        rc.incr(c)
                        self.incr_acked[c] += 1
                    except redis.exceptions.RedisError as e:
                        self.incr_failed[c] += 1
                        self.errors.append(("INCR", c, e))
                else:
                    if i % 2:
                        k = "k:%d" % i
                    else:
                        k = "{%s}k:%d" % (self.tags[(i // 2) % len(self.tags)], i)
                    v = str(i)
                    i += 1
                    try:
                        if rc.set(k, v) is True:
                            self.acked.append((k, v))
                        else:
                            self.failed_sets.append(k)
                    except redis.exceptions.RedisError as e:
                        self.failed_sets.append(k)
                        self.errors.append(("SET", k, e))
                # pace: operation n is due at start + n / rate
                delay = start + op / self.rate - time.monotonic()
                if delay > 0:
                    self.stop.wait(delay)
        except Exception as e:  # noqa: BLE001 - reported by the test
            import traceback

            self.fatal = "%r\n%s" % (e, traceback.format_exc())
        finally:
            rc.close()


def redirect_class(e):
    import redis

    return isinstance(e, (redis.exceptions.MovedError, redis.exceptions.AskError,
                          redis.exceptions.TryAgainError))


def errorstats(nodes):
    """{error prefix: count} summed over INFO errorstats of ``nodes``."""
    out = {}
    for n in nodes:
        for k, v in n.info("errorstats").items():
            if k.startswith("errorstat_"):
                out[k[len("errorstat_"):]] = out.get(k[len("errorstat_"):], 0) + int(v.split("count=")[1])
    return out


@pytest.mark.timeout(180)
def test_resharding_and_rebalancing_under_load_lose_no_acknowledged_write(make_cluster):
    pytest.importorskip("redis")
    from redis.cluster import RedisCluster

    cl = make_cluster()
    cl.create_with_cli(3, 1)
    m0, m1, m2 = cl.masters()
    tags = tags_for(HOT_SLOTS + (COLD_SLOT,))
    # Preloaded keys: PRELOAD in each hot slot.
    preload = []
    for s in HOT_SLOTS:
        c = Client(cl.owner(s).port)
        try:
            ks = [("{%s}p:%d" % (tags[s], j), "p%d" % j) for j in range(PRELOAD)]
            assert c.pipeline([("SET", k, v) for k, v in ks]) == ["OK"] * PRELOAD
            preload += ks
        finally:
            c.close()
    counters = ["{%s}ctr" % tags[s] for s in HOT_SLOTS + (COLD_SLOT,)]
    writer = ClusterWriter(m0.port, counters, [tags[s] for s in HOT_SLOTS])
    writer.start()
    try:
        wait_until(lambda: len(writer.acked) >= 200 or writer.fatal, 20, 0.05, msg="writer under way")
        assert writer.fatal is None, repr(writer.fatal)

        # 1000 slots (0-999) from the first master to the second, keys and all.
        before = len(writer.acked)
        t0 = time.monotonic()
        res = cli_ok(cli_cluster("reshard", m0.addr(), "--cluster-from", m0.myid(), "--cluster-to", m1.myid(),
                             "--cluster-slots", "1000", "--cluster-yes", timeout=120))
        reshard_time = time.monotonic() - t0
        assert "Ready to move 1000 slots." in res.out.split("\n")
        during_reshard = len(writer.acked) - before
        view = cl.wait_ok()
        assert view[m0.myid()][3] == ((1000, 5460),)
        assert view[m1.myid()][3] == ((0, 999), (5461, 10922))

        # An empty master joins and gets one slot (10923, the third master's first), the
        # writer's client learns about it, then the rebalance brings it to 4096 slots.
        new = cl.add_node()
        cli_ok(cli_cluster("add-node", new.addr(), m0.addr()))
        cl.wait_ok()
        cli_ok(cli_cluster("reshard", m0.addr(), "--cluster-from", m2.myid(), "--cluster-to", new.myid(),
                       "--cluster-slots", "1", "--cluster-yes"))
        view = cl.wait_ok()
        assert view[new.myid()][3] == ((10923, 10923),)
        writer.refresh()
        before = len(writer.acked)
        t0 = time.monotonic()
        res = cli_ok(cli_cluster("rebalance", m0.addr(), timeout=150))
        rebalance_time = time.monotonic() - t0
        assert ">>> Rebalancing across 4 nodes. Total weight = 4.00" in res.out.split("\n")
        during_rebalance = len(writer.acked) - before
        # let the writer go on a little after the last slot moved
        after = len(writer.acked)
        wait_until(lambda: len(writer.acked) >= after + 100 or writer.fatal, 20, 0.05,
                   msg="writer still going after the rebalance")
    finally:
        writer.stop.set()
        writer.join(30)
    assert not writer.is_alive(), "writer thread did not stop"
    assert writer.fatal is None, writer.fatal
    redirects = errorstats([n for n in cl.nodes if n.role() == "master"])
    print("writer: %d SETs acknowledged (%d during the reshard (%.1f s), %d during the rebalance (%.1f s)), "
          "%d failed, INCRs %r, %d exceptions; errorstats of the masters %r" % (
              len(writer.acked), during_reshard, reshard_time, during_rebalance, rebalance_time,
              len(writer.failed_sets), writer.incr_acked, len(writer.errors), redirects))
    # the writer really wrote while the slots were moving
    assert during_reshard >= 50 and during_rebalance >= 50, (during_reshard, during_rebalance)

    view = cl.wait_ok(timeout=30)
    assert_slots_partitioned(view)
    assert sorted(sizes_of(view).values()) == [4096] * 4, sizes_of(view)
    for s in HOT_SLOTS:
        assert cl.owner(s) is new, (s, cl.owner(s))
    assert cl.owner(COLD_SLOT) is m1

    # No exception surfaced from redis-py (redirect-class ones at most).
    others = [(op, k, e) for op, k, e in writer.errors if not redirect_class(e)]
    assert not others, "non-redirect exceptions (%d of %d): %r" % (len(others), len(writer.errors), others[:10])

    rc = RedisCluster(host=HOST, port=m2.port)
    try:
        # Every acknowledged key (preloaded or written under load) has its value.
        acked = preload + writer.acked
        wrong = []
        for a in range(0, len(acked), 500):
            chunk = acked[a:a + 500]
            for (k, v), got in zip(chunk, rc.mget_nonatomic([k for k, _ in chunk])):
                if got != v.encode():
                    wrong.append((k, keyslot(k), v, got))
        assert not wrong, "%d of %d acknowledged keys wrong, e.g. (key, slot, value, got) %r" % (
            len(wrong), len(acked), wrong[:10])
        # Every counter counts its acknowledged INCRs (an INCR that raised may or may not
        # have happened).
        for c in counters:
            got = int(rc.get(c) or 0)
            assert writer.incr_acked[c] <= got <= writer.incr_acked[c] + writer.incr_failed[c], (
                c, keyslot(c), got, writer.incr_acked[c], writer.incr_failed[c])
            assert writer.incr_acked[c] > 0, c
    finally:
        rc.close()

    # No key left behind on a node that no longer owns its slot: the masters hold exactly
    # the keys written (acknowledged SETs, the counters, maybe some SETs that raised).
    masters = cl.masters()
    assert len(masters) == 4
    total = sum(dbsize(m) for m in masters)
    lo = len(acked) + len(counters)
    assert lo <= total <= lo + len(writer.failed_sets), (total, lo, len(writer.failed_sets))
    for m in masters:
        owned = parse_ranges(m.me()["slots"])
        for s in HOT_SLOTS + (COLD_SLOT,):
            if s not in owned:
                assert m.call("CLUSTER", "COUNTKEYSINSLOT", s) == 0, (m, s)
    # Replicas hold what their masters hold.
    for m in masters:
        reps = cl.replicas_of(m)
        if not reps:
            continue
        assert m.call("WAIT", len(reps), 5000) == len(reps)
        n = dbsize(m)
        for r in reps:
            wait_until(lambda: dbsize(r) == n, 10, 0.05, msg="replica %s has the %d keys of %s" % (r, n, m))

    # redis-cli's check: all nodes agree, no open slot, every slot covered.
    res = cli_ok(cli_cluster("check", m0.addr()))
    lines = res.out.split("\n")
    assert in_order(lines, CHECK_OK), res.out
    assert not [line for line in lines if line.startswith(("[WARNING]", "[ERR]"))], res.out


# ---------------------------------------------------------------------------
# failover with WAIT-acknowledged writes
# ---------------------------------------------------------------------------


class WaitWriter(threading.Thread):
    """Batches of ``SET <key> <value>`` followed by ``WAIT 1 1000`` on one connection to
    ``port``; a batch is acknowledged when every SET said OK and WAIT returned >= 1.
    Stops at the first error (connection closed, reply timeout) or when ``stop`` is set."""

    def __init__(self, port, keys, batch=5):
        super().__init__(daemon=True)
        self.port = port
        self.keys = keys
        self.batch = batch
        self.stop = threading.Event()
        self.acked = []
        self.unacked = 0  # batches WAIT did not acknowledge
        self.error = None

    def run(self):
        c = None
        try:
            c = Client(self.port, timeout=3)
            for a in range(0, len(self.keys), self.batch):
                if self.stop.is_set():
                    break
                chunk = self.keys[a:a + self.batch]
                replies = c.pipeline([("SET", k, "v:" + k) for k in chunk] + [("WAIT", "1", "1000")])
                if all(r == "OK" for r in replies[:-1]) and isinstance(replies[-1], int) and replies[-1] >= 1:
                    self.acked.extend(chunk)
                else:
                    self.unacked += 1
                    if any(not isinstance(r, (str, int)) for r in replies):
                        self.error = replies
                        break
                time.sleep(0.002)
        except Exception as e:  # noqa: BLE001 - the fault ends the writer
            self.error = e
        finally:
            if c is not None:
                c.close()


def missing_keys(node, keys):
    """The keys of ``keys`` that ``node`` (a master, or a replica: READONLY) does not hold
    with value v:<key>."""
    c = Client(node.port)
    try:
        assert c.call("READONLY") == "OK"
        out = []
        for a in range(0, len(keys), 200):
            chunk = keys[a:a + 200]
            for k, v in zip(chunk, c.pipeline([("GET", k) for k in chunk])):
                if v != ("v:" + k).encode():
                    out.append((k, v))
        return out
    finally:
        c.close()


def replicates(node, master):
    """``node`` is a replica of ``master`` with its link up, in INFO and in CLUSTER NODES."""
    info = node.info("replication")
    if info["role"] != "slave" or int(info["master_port"]) != master.port or info["master_link_status"] != "up":
        return False
    me = node.me()
    return "slave" in me["flags"] and me["master"] == master.myid()


@pytest.mark.timeout(150)
@pytest.mark.parametrize("fault", ["sigkill", "sigstop"])
def test_wait_acknowledged_writes_survive_a_failover(make_cluster, fault):
    cl = make_cluster()
    cl.create_with_cli(3, 2)
    masters = cl.masters()
    old = masters[1]
    replicas = cl.replicas_of(old)
    assert len(replicas) == 2
    others = [m for m in masters if m is not old]
    old_id = old.myid()
    owned = parse_ranges(old.me()["slots"])
    keys = []
    n = 0
    while len(keys) < 20000:
        k = "w%d" % n
        n += 1
        if keyslot(k) in owned:
            keys.append(k)

    writer = WaitWriter(old.port, keys)
    writer.start()
    try:
        wait_until(lambda: len(writer.acked) >= 500 or writer.error is not None, 30, 0.02,
                   msg="500 WAIT-acknowledged writes")
        assert writer.error is None, repr(writer.error)
        t0 = time.monotonic()
        if fault == "sigkill":
            os.kill(old.proc.pid, signal.SIGKILL)
            old.proc.wait(10)
        else:
            os.kill(old.proc.pid, signal.SIGSTOP)

        promoted = wait_until(lambda: [r for r in replicas if r.role() == "master"], 15, 0.05,
                              msg="a replica promoted within 15 s")
        elapsed = time.monotonic() - t0
        assert len(promoted) == 1, promoted
        new = promoted[0]
        follower = [r for r in replicas if r is not new][0]
        if fault == "sigstop":
            # stopped for longer than the node timeout: the others have replaced it
            assert elapsed * 1000 > NODE_TIMEOUT
            os.kill(old.proc.pid, signal.SIGCONT)
        writer.join(15)
        assert not writer.is_alive(), "writer did not notice the fault"
    finally:
        writer.stop.set()
        if fault == "sigstop" and old.is_alive():
            os.kill(old.proc.pid, signal.SIGCONT)
        writer.join(15)
    acked = list(writer.acked)
    print("%s: %d keys acknowledged, %d batches not, writer ended with %r; %s promoted after %.2f s" % (
        fault, len(acked), writer.unacked, writer.error, new, elapsed))
    assert len(acked) >= 500

    # Every WAIT-acknowledged key is on the new master.
    missing = missing_keys(new, acked)
    assert not missing, "%d of %d acknowledged keys missing on the new master %s, e.g. %r" % (
        len(missing), len(acked), new, missing[:10])

    # The other replica follows the new master; the old one (case b) too.
    followers = [follower] + ([old] if fault == "sigstop" else [])
    for f in followers:
        wait_until(lambda: replicates(f, new), 30, 0.05, msg="%s replicates the new master %s" % (f, new))
    view = cl.wait_ok(timeout=30)
    assert_slots_partitioned(view)
    # the new master owns what the old one owned, the others kept theirs
    assert parse_ranges(view[new.myid()][3]) == owned
    assert {nid for nid, v in view.items() if v[1] == "master" and v[3]} == {new.myid()} | {m.myid() for m in others}
    # exactly one replica promoted; everyone else in that shard follows it
    assert new.role() == "master" and follower.role() == "slave"
    assert view[follower.myid()][1:3] == ("slave", new.myid())
    if fault == "sigstop":
        assert view[old_id][1:3] == ("slave", new.myid())
        assert old.role() == "slave"
    else:
        # the dead master is flagged fail everywhere and owns nothing
        for node in cl.alive():
            x = [x for x in node.nodes() if x["id"] == old_id][0]
            assert "fail" in x["flags"] and not x["slots"], x["line"]
    # the winner's config epoch is above every other master's
    epochs = {x["id"]: x["epoch"] for x in new.nodes() if "master" in x["flags"] and x["slots"]}
    assert all(epochs[new.myid()] > e for nid, e in epochs.items() if nid != new.myid()), epochs
    # the replicas of the new master end up with every acknowledged key
    for f in followers:
        wait_until(lambda: not missing_keys(f, acked), 20, 0.1,
                   msg="%s has every acknowledged key" % f)
    assert parse_info(new.call("INFO", "replication"))[1]["connected_slaves"] == str(len(followers))
